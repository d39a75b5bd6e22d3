using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeAnthropic;
using Sanjia.Testing.FakeGemini;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Hardening;

/// <summary>Issue 13 points 1–3: malformed input gets a 4xx in the caller's protocol naming the field, before any upstream call.</summary>
public sealed class HostileInputTests(AllBackends all) : IClassFixture<AllBackends>
{
    /// <summary>OpenAI's error shape with the field in <c>param</c>, and no vendor called.</summary>
    private async Task AssertOpenAiRefusal(string path, byte[] body, string param)
    {
        var before = all.UpstreamCalls;
        var (status, json, _) = await all.PostAsync(path, body);
        Assert.True(status == 400, $"{status}: {json}");
        Assert.Equal("invalid_request_error", json.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(param, json.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(before, all.UpstreamCalls);
    }

    /// <summary>Anthropic's error shape, the field named in the message, and no vendor called.</summary>
    private async Task AssertAnthropicRefusal(string path, byte[] body, string field)
    {
        var before = all.UpstreamCalls;
        var (status, json, _) = await all.PostAsync(path, body);
        Assert.True(status == 400, $"{status}: {json}");
        Assert.Equal("error", json.GetProperty("type").GetString());
        Assert.Equal("invalid_request_error", json.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains(field, json.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(before, all.UpstreamCalls);
    }

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    [Theory]
    [InlineData("claude/c")]
    [InlineData("gem/gemini-2.5-flash")]
    [InlineData("fa/gpt-4o-mini")]
    public Task Tool_call_without_function_is_refused_naming_it(string model) =>
        AssertOpenAiRefusal("/v1/chat/completions", Bytes($$"""
            {"model":"{{model}}","messages":[{"role":"user","content":"hi"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function"}]},
              {"role":"tool","tool_call_id":"call_1","content":"ok"}]}
            """), "messages[1].tool_calls[0].function");

    [Fact]
    public Task Messages_with_a_system_array_of_strings_is_refused_naming_system() =>
        AssertAnthropicRefusal("/v1/messages", Bytes("""
            {"model":"claude/c","max_tokens":10,"system":["x"],"messages":[{"role":"user","content":"hi"}]}
            """), "system");

    [Fact]
    public Task Count_tokens_with_a_null_message_is_refused_naming_it() =>
        AssertAnthropicRefusal("/v1/messages/count_tokens", Bytes("""
            {"model":"claude/c","messages":[null]}
            """), "messages.0");

    [Fact]
    public Task Embeddings_with_a_lone_surrogate_are_refused_naming_input() =>
        AssertOpenAiRefusal("/v1/embeddings", Bytes("""
            {"model":"fa/text-embedding-3-small","input":"\ud800x"}
            """), "input");

    [Theory]
    [InlineData("gem/gemini-2.5-flash")]
    [InlineData("claude/c")]
    [InlineData("fa/gpt-4o-mini")]
    public Task File_data_of_the_wrong_type_is_refused_naming_it(string model) =>
        AssertOpenAiRefusal("/v1/chat/completions", Bytes($$$"""
            {"model":"{{{model}}}","messages":[{"role":"user","content":[{"type":"file","file":{"file_data":42}}]}]}
            """), "messages[0].content[0].file.file_data");

    /// <summary>A body whose message text holds the byte 0xFF, which is never valid UTF-8.</summary>
    private static byte[] WithInvalidUtf8(string json)
    {
        var bytes = Bytes(json);
        var at = Array.IndexOf(bytes, (byte)'#');
        bytes[at] = 0xFF;
        return bytes;
    }

    [Theory]
    [InlineData("fa/gpt-4o-mini")]
    [InlineData("claude/c")]
    [InlineData("gem/gemini-2.5-flash")]
    [InlineData("local/stories260K")]
    public Task Invalid_utf8_in_a_message_is_refused_on_chat_completions(string model) =>
        AssertOpenAiRefusal("/v1/chat/completions",
            WithInvalidUtf8($$"""{"model":"{{model}}","max_tokens":4,"messages":[{"role":"user","content":"caf# au lait"}]}"""),
            "messages[0].content");

    [Theory]
    [InlineData("claude/c")]
    [InlineData("fa/gpt-4o-mini")]
    [InlineData("local/stories260K")]
    public Task Invalid_utf8_in_a_message_is_refused_on_messages(string model) =>
        AssertAnthropicRefusal("/v1/messages",
            WithInvalidUtf8($$"""{"model":"{{model}}","max_tokens":4,"messages":[{"role":"user","content":"caf# au lait"}]}"""),
            "messages[0].content");

    [Fact]
    public Task Invalid_utf8_is_refused_on_responses_and_embeddings() => Task.WhenAll(
        AssertOpenAiRefusal("/v1/responses", WithInvalidUtf8("""{"model":"fa/gpt-4o-mini","input":"caf#"}"""), "input"),
        AssertOpenAiRefusal("/v1/embeddings", WithInvalidUtf8("""{"model":"fa/text-embedding-3-small","input":["ok","caf#"]}"""), "input[1]"));

    [Theory]
    [InlineData("fa/café")]
    [InlineData("fa/模型")]
    [InlineData("fa/a\\r\\nx-evil: 1")]
    [InlineData("claude/c\\u0000")]
    public async Task Model_ids_that_cannot_travel_in_a_header_are_refused_before_any_vendor_call(string model)
    {
        await AssertOpenAiRefusal("/v1/chat/completions", Bytes($$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}"""), "model");
        await AssertOpenAiRefusal("/v1/embeddings", Bytes($$"""{"model":"{{model}}","input":"hi"}"""), "model");
        await AssertAnthropicRefusal("/v1/messages", Bytes($$"""{"model":"{{model}}","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}"""), "model");
        // Nothing was metered as served: the ledger holds no row for these models.
        var rows = await all.Gateway.LedgerAsync(0);
        Assert.DoesNotContain(rows, r => r.Status == 200 && r.Model is { } m && m.Any(c => c > '~' || c < ' '));
    }
}
