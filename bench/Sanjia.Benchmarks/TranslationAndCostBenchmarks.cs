using System.Text;
using BenchmarkDotNet.Attributes;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Pricing;
using Sanjia.Core.Translation;

namespace Sanjia.Benchmarks;

/// <summary>Protocol translation on the Anthropic route: a Messages request in, a Chat Completions answer back out.</summary>
[Config(typeof(HotPathConfig))]
public class TranslationBenchmarks
{
    private static readonly byte[] AnthropicRequest = Encoding.UTF8.GetBytes("""
        {"model":"chat-default","max_tokens":512,"system":"You are a helpful assistant.","stream":false,
         "tools":[{"name":"get_weather","description":"Weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],
         "messages":[{"role":"user","content":"What is the weather in Paris?"},
                     {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
                     {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"18 C, sunny"}]}]}
        """);

    private static readonly byte[] OpenAiCompletion = Encoding.UTF8.GetBytes("""
        {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",
         "choices":[{"index":0,"message":{"role":"assistant","content":"It is 18 C and sunny in Paris.","refusal":null},"logprobs":null,"finish_reason":"stop"}],
         "usage":{"prompt_tokens":120,"completion_tokens":12,"total_tokens":132,"prompt_tokens_details":{"cached_tokens":100},"completion_tokens_details":{"reasoning_tokens":0}}}
        """);

    [Benchmark(Baseline = true), BenchmarkCategory("translation")]
    public byte[]? AnthropicRequestToOpenAi() => AnthropicToOpenAiRequest.Translate(AnthropicRequest).Body;

    [Benchmark, BenchmarkCategory("translation")]
    public byte[]? OpenAiResponseToAnthropic() => OpenAiToAnthropicResponse.Translate(OpenAiCompletion, "chat-default", default).Body;
}

/// <summary>The cost of one request from its usage: catalogue lookup, tier and time-of-day choice, decimal arithmetic by token kind.</summary>
[MemoryDiagnoser]
public class CostBenchmarks
{
    private Pricer _pricer = null!;
    private readonly TokenUsage _usage = new(Input: 1200, Output: 350, CachedInput: 1000, Reasoning: 200);

    [GlobalSetup]
    public void Setup() => _pricer = new Pricer(PriceCatalogue.LoadBuiltIn(), new SanjiaOptions());

    [Benchmark(Baseline = true)]
    public Cost PricedModel() => _pricer.CostOf("openai", "gpt-4.1", _usage);

    [Benchmark]
    public Cost UnpricedModel() => _pricer.CostOf("acme", "no-such-model", _usage);

    /// <summary>Qwen: input-length tiers and a thinking-mode output price.</summary>
    [Benchmark]
    public Cost TieredThinkingModel() => _pricer.CostOf("qwen", "qwen-plus", _usage);

    /// <summary>DeepSeek: peak and off-peak rates by the time of the request.</summary>
    [Benchmark]
    public Cost OffPeakModel() => _pricer.CostOf("deepseek", "deepseek-flash", _usage);
}
