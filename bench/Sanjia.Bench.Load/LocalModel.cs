using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LLama;
using LLama.Common;
using LLama.Native;
using LLama.Sampling;

namespace Sanjia.Bench.Load;

/// <param name="MedianPairRatio">The median over repeats of gateway ÷ direct tokens/s, each repeat's two runs back to back.</param>
public sealed record LocalModelResult(double GatewayTokensPerSecond, double DirectTokensPerSecond, int Repeats, int GatewayTokens, int DirectTokens, double MedianPairRatio)
{
    /// <summary>Gateway ÷ direct over all tokens and all time of the repeats.</summary>
    public double Ratio => GatewayTokensPerSecond / DirectTokensPerSecond;

    public string Describe() => FormattableString.Invariant(
        $"local model: gateway {GatewayTokensPerSecond:F0} tok/s ({GatewayTokens} tokens), LLamaSharp direct {DirectTokensPerSecond:F0} tok/s ({DirectTokens} tokens), ratio of totals {Ratio:P1}, median of paired ratios {MedianPairRatio:P1} over {Repeats} repeats");
}

/// <summary>
/// Tokens/s of the in-process local model streamed through the gateway over HTTP vs llama.cpp called directly
/// through LLamaSharp with the same file, context size, threads, sampling settings and seeds, in the same way the
/// local provider drives it (fresh context per generation, prompt in one batch, one token per decode). Repeats
/// alternate between the two sides so that machine noise hits both alike. Time includes context creation and
/// prompt evaluation on both sides; the first (weight-loading) request is not counted.
/// </summary>
public static class LocalModel
{
    private const string Prompt = "Once upon a time";
    private const int WarmupRequests = 100;

    public static async Task<LocalModelResult> RunAsync(string gatewayDll, string modelPath, int maxTokens, int repeats, int threads, string workDir, int? gatewayCpu)
    {
        NativeLogConfig.llama_log_set((_, _) => { });
        var dir = Directory.CreateDirectory(Path.Combine(workDir, "local-model")).FullName;
        var models = Directory.CreateDirectory(Path.Combine(dir, "models")).FullName;
        var port = Proc.FreePort();
        var args = Gateway.Arguments(gatewayDll, port, Path.Combine(dir, "data"), models, "http://127.0.0.1:9", null);
        args.AddRange([
            $"--Sanjia:ModelFiles:0={modelPath}",
            $"--Sanjia:Local:Threads={threads}",
            "--Sanjia:Local:FallbackTemplate=plain",
            "--Sanjia:Local:MaxConcurrency=1",
        ]);
        var modelId = "local/" + Path.GetFileNameWithoutExtension(modelPath);
        using var child = Child.Start("dotnet", args, Path.Combine(dir, "gateway.log"), gatewayCpu, dir);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromMinutes(2) };
        var baseUrl = $"http://127.0.0.1:{port}";
        if (!await Gateway.WaitForChatAsync(client, baseUrl, modelId, TimeSpan.FromSeconds(60), child).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"The gateway did not serve {modelId}; see {child.Log}.");
        }

        using var weights = LLamaWeights.LoadFromFile(new ModelParams(modelPath) { GpuLayerCount = 0 });
        var contextSize = (uint)Math.Min(2048, weights.ContextSize > 0 ? weights.ContextSize : 2048);
        var contextParams = new ModelParams(modelPath)
        {
            ContextSize = contextSize,
            BatchSize = contextSize,
            UBatchSize = Math.Min(512u, contextSize),
            Threads = threads > 0 ? threads : null,
            BatchThreads = threads > 0 ? threads : null,
            GpuLayerCount = 0,
        };
        maxTokens = Math.Min(maxTokens, (int)contextSize - 16);

        // Untimed rounds each, so that the figure is steady-state throughput: caches warm on both sides, and the
        // gateway's code compiled to tier 1. The runtime recompiles a method after 30 calls, on a background thread
        // that shares the gateway's core, so per-request code needs more requests than per-token code: short ones.
        for (var w = 0; w < 3; w++)
        {
            await ThroughGatewayAsync(client, baseUrl, modelId, maxTokens, (uint)(1 + w)).ConfigureAwait(false);
            OnCpu(gatewayCpu, () => Direct(weights, contextParams, maxTokens, (uint)(1 + w)));
        }
        for (var w = 0; w < WarmupRequests; w++)
        {
            await ThroughGatewayAsync(client, baseUrl, modelId, 8, (uint)(100 + w)).ConfigureAwait(false);
        }

        double gwSeconds = 0, directSeconds = 0;
        int gwTokens = 0, directTokens = 0;
        var pairRatios = new List<double>();
        for (var i = 0; i < repeats; i++)
        {
            var seed = (uint)(1000 + i);
            var (t1, s1) = await ThroughGatewayAsync(client, baseUrl, modelId, maxTokens, seed).ConfigureAwait(false);
            var (t2, s2) = OnCpu(gatewayCpu, () => Direct(weights, contextParams, maxTokens, seed));
            gwTokens += t1; gwSeconds += s1;
            directTokens += t2; directSeconds += s2;
            pairRatios.Add(t1 / s1 / (t2 / s2));
        }
        return new LocalModelResult(gwTokens / gwSeconds, directTokens / directSeconds, repeats, gwTokens, directTokens, Stats.Median(pairRatios));
    }

    private static async Task<(int Tokens, double Seconds)> ThroughGatewayAsync(HttpClient client, string baseUrl, string model, int maxTokens, uint seed)
    {
        var body = $$"""{"model":"{{model}}","stream":true,"stream_options":{"include_usage":true},"max_tokens":{{maxTokens}},"seed":{{seed}},"temperature":1,"top_p":1,"messages":[{"role":"user","content":"{{Prompt}}"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Gateway.MasterKey);
        var started = Stopwatch.GetTimestamp();
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync().ConfigureAwait(false));
        var tokens = -1;
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var data = line[6..];
            if (data == "[DONE]") break;
            using var doc = JsonDocument.Parse(data);
            if (doc.RootElement.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                tokens = usage.GetProperty("completion_tokens").GetInt32();
            }
        }
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (tokens < 0) throw new InvalidOperationException("The gateway's stream had no usage chunk.");
        return (tokens, seconds);
    }

    private static (int Tokens, double Seconds) Direct(LLamaWeights weights, ModelParams contextParams, int maxTokens, uint seed)
    {
        var started = Stopwatch.GetTimestamp();
        using var context = weights.CreateContext(contextParams);
        var prompt = weights.Tokenize(Prompt, false, true, Encoding.UTF8);
        if (weights.Vocab.ShouldAddBOS && weights.Vocab.BOS is { } bos && (prompt.Length == 0 || prompt[0] != bos))
        {
            prompt = [bos, .. prompt];
        }
        using var sampler = new DefaultSamplingPipeline { Temperature = 1f, TopP = 1f, Seed = seed };
        var decoder = new StreamingTokenDecoder(Encoding.UTF8, weights);
        var batch = new LLamaBatch();
        var logitIndex = batch.AddRange(prompt.AsSpan(), 0, LLamaSeqId.Zero, logitsLast: true);
        Decode(context, batch);
        var position = prompt.Length;
        var tokens = 0;
        var text = new StringBuilder();
        while (tokens < maxTokens && position < contextParams.ContextSize)
        {
            var token = sampler.Sample(context.NativeHandle, logitIndex);
            tokens++;
            if (token.IsEndOfGeneration(weights.Vocab)) break;
            decoder.Add(token);
            text.Append(decoder.Read());
            batch.Clear();
            logitIndex = batch.Add(token, position++, LLamaSeqId.Zero, true);
            Decode(context, batch);
        }
        return (tokens, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the calling thread pinned to <paramref name="cpu"/> (the gateway's CPU, idle
    /// meanwhile), so that both sides run on the same core; the thread's CPU set is restored afterwards.
    /// </summary>
    private static T OnCpu<T>(int? cpu, Func<T> work)
    {
        if (cpu is not { } c || !OperatingSystem.IsLinux())
        {
            return work();
        }
        ulong previous = 0;
        if (sched_getaffinity(0, sizeof(ulong), ref previous) != 0)
        {
            return work();
        }
        var only = 1UL << c;
        sched_setaffinity(0, sizeof(ulong), ref only);
        try
        {
            return work();
        }
        finally
        {
            sched_setaffinity(0, sizeof(ulong), ref previous);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int sched_setaffinity(int pid, nint cpusetsize, ref ulong mask);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int sched_getaffinity(int pid, nint cpusetsize, ref ulong mask);

    private static void Decode(LLamaContext context, LLamaBatch batch)
    {
        var result = context.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException("llama_decode failed: " + result.ToString());
    }

    internal static string Format(double v) => v.ToString("F0", CultureInfo.InvariantCulture);
}
