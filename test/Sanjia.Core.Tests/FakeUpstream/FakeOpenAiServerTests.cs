using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Core.Tests.FakeUpstream;

public sealed class FakeOpenAiServerTests : IAsyncLifetime
{
    private FakeOpenAiServer _server = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeOpenAiServer.StartAsync();
        _client = Sse.Client(_server);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Json_reply_has_the_chat_completion_shape_and_counts_usage()
    {
        using var response = await _client.SendAsync(Sse.Post("chat/completions", Sse.ChatBody("my-model", prompt: "one two three")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = Sse.Parse(await response.Content.ReadAsStringAsync());
        Assert.StartsWith("chatcmpl-", body.GetProperty("id").GetString());
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.True(body.GetProperty("created").GetInt64() > 1_600_000_000);
        Assert.Equal("my-model", body.GetProperty("model").GetString());

        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var message = choice.GetProperty("message");
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal("Hello from my-model", message.GetProperty("content").GetString());
        Assert.Equal(JsonValueKind.Null, message.GetProperty("refusal").ValueKind);

        var usage = body.GetProperty("usage");
        Assert.Equal(3 + 2, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(3, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(8, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Scripted_reply_overrides_content_and_token_counts()
    {
        _server.Enqueue(FakeBehavior.Reply("Exactly this.", promptTokens: 40, completionTokens: 7));

        using var response = await _client.SendAsync(Sse.Post("chat/completions", Sse.ChatBody()));

        var body = Sse.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Exactly this.", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(40, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(7, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(47, body.GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Stream_opens_with_the_role_streams_the_reply_word_by_word_and_ends_with_finish_then_done()
    {
        _server.SetDefault(FakeBehavior.Reply("The quick brown fox jumps"));

        using var response = await Sse.StartStreamAsync(_client, Sse.ChatBody("m1", stream: true));
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await Sse.ReadAllAsync(response);

        Assert.Equal("[DONE]", events[^1]);
        Assert.Single(events, e => e == "[DONE]");
        var chunks = Sse.Chunks(events).ToList();
        Assert.All(chunks, c =>
        {
            Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString());
            Assert.Equal("m1", c.GetProperty("model").GetString());
            Assert.Equal(chunks[0].GetProperty("id").GetString(), c.GetProperty("id").GetString());
            // Without include_usage the field is absent, not null.
            Assert.False(c.TryGetProperty("usage", out _));
            Assert.Equal(JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
        });
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.All(chunks.Skip(1), c => Assert.False(c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("role", out _)));
        Assert.Equal("The quick brown fox jumps", Sse.Content(chunks));
        Assert.Equal(5 + 1, chunks.Count);

        var finish = chunks[^1].GetProperty("choices")[0];
        Assert.Equal("stop", finish.GetProperty("finish_reason").GetString());
        Assert.Empty(finish.GetProperty("delta").EnumerateObject());
        Assert.All(chunks.SkipLast(1), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind));
    }

    [Fact]
    public async Task Stream_with_include_usage_sends_null_usage_on_each_chunk_and_a_final_usage_chunk_before_done()
    {
        using var response = await Sse.StartStreamAsync(_client, Sse.ChatBody("m2", stream: true, includeUsage: true, prompt: "a b c d"));
        var events = await Sse.ReadAllAsync(response);

        Assert.Equal("[DONE]", events[^1]);
        var chunks = Sse.Chunks(events).ToList();
        var last = chunks[^1];
        Assert.Empty(last.GetProperty("choices").EnumerateArray());
        var usage = last.GetProperty("usage");
        var contentChunks = chunks.Count - 2;
        Assert.Equal(4 + 2, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(contentChunks, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(4 + 2 + contentChunks, usage.GetProperty("total_tokens").GetInt32());
        Assert.All(chunks.SkipLast(1), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("usage").ValueKind));
        Assert.Equal("stop", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal("Hello from m2", Sse.Content(chunks));
    }

    [Fact]
    public async Task NoUsage_ignores_include_usage_in_streams_and_leaves_usage_out_of_json()
    {
        _server.Enqueue(FakeBehavior.NoUsage(), FakeBehavior.NoUsage());

        using var streamed = await Sse.StartStreamAsync(_client, Sse.ChatBody(stream: true, includeUsage: true));
        var chunks = Sse.Chunks(await Sse.ReadAllAsync(streamed)).ToList();
        using var complete = await _client.SendAsync(Sse.Post("chat/completions", Sse.ChatBody()));
        var body = Sse.Parse(await complete.Content.ReadAsStringAsync());

        Assert.All(chunks, c => Assert.False(c.TryGetProperty("usage", out _)));
        Assert.All(chunks, c => Assert.NotEmpty(c.GetProperty("choices").EnumerateArray()));
        Assert.False(body.TryGetProperty("usage", out _));
    }

    [Fact]
    public async Task Status_behaviours_return_openai_errors_with_their_headers_in_queue_order_then_the_default()
    {
        _server.Enqueue(
            FakeBehavior.Status(429, "Slow down", new Dictionary<string, string> { ["Retry-After"] = "7" }),
            FakeBehavior.Status(503));

        using var first = await _client.SendAsync(Sse.Post("chat/completions", Sse.ChatBody()));
        using var second = await _client.SendAsync(Sse.Post("chat/completions", Sse.ChatBody(stream: true)));
        using var third = await _client.SendAsync(Sse.Post("chat/completions", Sse.ChatBody()));

        Assert.Equal(HttpStatusCode.TooManyRequests, first.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), first.Headers.RetryAfter?.Delta);
        var error = Sse.Error(await first.Content.ReadAsStringAsync());
        Assert.Equal("Slow down", error.GetProperty("message").GetString());
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.Equal("server_error", Sse.Error(await second.Content.ReadAsStringAsync()).GetProperty("type").GetString());

        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal(0, _server.PendingBehaviors);
    }

    [Fact]
    public async Task Drop_after_chunks_delivers_those_chunks_then_breaks_the_clients_read()
    {
        _server.Enqueue(FakeBehavior.DropAfterChunks(2));
        var events = new List<string>();

        using var response = await Sse.StartStreamAsync(_client, Sse.ChatBody(stream: true));
        var thrown = await Record.ExceptionAsync(() => Sse.ReadAllAsync(response, events));

        Assert.IsAssignableFrom<IOException>(thrown);
        Assert.Equal(2, events.Count);
        Assert.DoesNotContain("[DONE]", events);
        var record = Assert.Single(_server.Requests);
        await record.Completed.WaitAsync(Sse.Patience);
        Assert.True(record.ServerAborted);
        Assert.False(record.ClientAborted);
    }

    [Fact]
    public async Task Malformed_after_chunks_sends_broken_json_and_ends_without_done()
    {
        _server.Enqueue(FakeBehavior.MalformedAfterChunks(1));

        using var response = await Sse.StartStreamAsync(_client, Sse.ChatBody(stream: true));
        var events = await Sse.ReadAllAsync(response);

        Assert.Equal(2, events.Count);
        Sse.Parse(events[0]);
        Assert.Equal("{not json", events[1]);
        Assert.ThrowsAny<JsonException>(() => Sse.Parse(events[1]));
    }

    [Fact]
    public async Task Stall_after_chunks_goes_silent_then_finishes_the_stream()
    {
        var stall = TimeSpan.FromSeconds(1);
        _server.Enqueue(FakeBehavior.StallAfterChunks(1, stall) with { Content = "one two three" });

        // Timed from the request, not from reading the first chunk: on a loaded machine the first chunk may be read
        // late, eating into the measured gap, but nothing can bring the second one before the stall has passed.
        var clock = Stopwatch.StartNew();
        using var response = await Sse.StartStreamAsync(_client, Sse.ChatBody(stream: true));
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = await NextDataAsync(reader);
        var second = await NextDataAsync(reader);
        var secondAt = clock.Elapsed;
        var rest = new List<string> { first!, second! };
        while (await NextDataAsync(reader) is { } more) rest.Add(more);

        Assert.True(secondAt >= stall, $"the second chunk came {secondAt} after the request, before the {stall} stall");
        Assert.Equal("one two three", Sse.Content(Sse.Chunks(rest)));
        Assert.Equal("[DONE]", rest[^1]);
    }

    [Fact]
    public async Task Stream_chunks_sends_the_requested_number_of_content_chunks()
    {
        _server.Enqueue(FakeBehavior.StreamChunks(6, TimeSpan.FromMilliseconds(20)));

        using var response = await Sse.StartStreamAsync(_client, Sse.ChatBody(stream: true, includeUsage: true));
        var chunks = Sse.Chunks(await Sse.ReadAllAsync(response)).ToList();

        Assert.Equal("word1 word2 word3 word4 word5 word6", Sse.Content(chunks));
        Assert.Equal(6 + 2, chunks.Count);
        Assert.Equal(6, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(6, _server.Requests[0].ChunksSent);
    }

    [Fact]
    public async Task Delay_before_headers_holds_back_the_response()
    {
        var delay = TimeSpan.FromSeconds(1);
        _server.Enqueue(FakeBehavior.DelayBeforeHeaders(delay));

        var clock = Stopwatch.StartNew();
        using var response = await Sse.StartStreamAsync(_client, Sse.ChatBody(stream: true));
        var elapsed = clock.Elapsed;

        Assert.True(elapsed >= delay * 0.8, $"headers came after {elapsed}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Reset_before_response_fails_the_request_without_a_status()
    {
        _server.Enqueue(FakeBehavior.ResetBeforeResponse());

        await Assert.ThrowsAsync<HttpRequestException>(() => _client.SendAsync(Sse.Post("chat/completions", Sse.ChatBody())));

        var record = Assert.Single(_server.Requests);
        await record.Completed.WaitAsync(Sse.Patience);
        Assert.True(record.ServerAborted);
        Assert.Equal(0, record.StatusCode);
    }

    [Fact]
    public async Task Streamed_tool_call_fragments_concatenate_to_the_arguments()
    {
        const string Arguments = """{"city":"Zürich","units":"metric","days":[1,2,3]}""";
        _server.Enqueue(FakeBehavior.ToolCall("get_weather", Arguments, pieces: 4));

        using var response = await Sse.StartStreamAsync(_client, Sse.ChatBody(stream: true, includeUsage: true));
        var chunks = Sse.Chunks(await Sse.ReadAllAsync(response)).ToList();

        var calls = chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
            .Where(d => d.TryGetProperty("tool_calls", out _))
            .Select(d => d.GetProperty("tool_calls")[0])
            .ToList();
        Assert.Equal(4, calls.Count);
        Assert.All(calls, c => Assert.Equal(0, c.GetProperty("index").GetInt32()));
        Assert.StartsWith("call_", calls[0].GetProperty("id").GetString());
        Assert.Equal("function", calls[0].GetProperty("type").GetString());
        Assert.Equal("get_weather", calls[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal(Arguments, string.Concat(calls.Select(c => c.GetProperty("function").GetProperty("arguments").GetString())));
        Assert.Equal("tool_calls", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(4, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Json_tool_call_carries_the_whole_arguments_and_null_content()
    {
        _server.Enqueue(FakeBehavior.ToolCall("lookup", """{"q":"x"}""", pieces: 3));

        using var response = await _client.SendAsync(Sse.Post("chat/completions", Sse.ChatBody()));
        var choice = Sse.Parse(await response.Content.ReadAsStringAsync()).GetProperty("choices")[0];

        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        var message = choice.GetProperty("message");
        Assert.Equal(JsonValueKind.Null, message.GetProperty("content").ValueKind);
        var call = Assert.Single(message.GetProperty("tool_calls").EnumerateArray());
        Assert.Equal("lookup", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("""{"q":"x"}""", call.GetProperty("function").GetProperty("arguments").GetString());
    }

    [Fact]
    public async Task Missing_or_wrong_key_is_rejected_with_401()
    {
        using var anonymous = new HttpClient { BaseAddress = new Uri(_server.BaseUrl + "/") };
        using var wrong = Sse.Client(_server, apiKey: "sk-wrong-key-1234");

        using var missing = await anonymous.SendAsync(Sse.Post("chat/completions", Sse.ChatBody()));
        using var rejected = await wrong.SendAsync(Sse.Post("chat/completions", Sse.ChatBody()));
        using var models = await wrong.GetAsync("models");

        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("invalid_request_error", Sse.Error(await missing.Content.ReadAsStringAsync()).GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, rejected.StatusCode);
        var error = Sse.Error(await rejected.Content.ReadAsStringAsync());
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.DoesNotContain("sk-wrong-key", error.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
    }

    [Theory]
    [InlineData("{\"model\": \"m\", \"messages\": [", null)]
    [InlineData("{\"messages\": [{\"role\":\"user\",\"content\":\"hi\"}]}", "model")]
    [InlineData("{\"model\": 5, \"messages\": [{\"role\":\"user\",\"content\":\"hi\"}]}", "model")]
    [InlineData("{\"model\": \"m\"}", "messages")]
    [InlineData("{\"model\": \"m\", \"messages\": []}", "messages")]
    [InlineData("{\"model\": \"m\", \"messages\": [{\"content\":\"hi\"}]}", "messages[0].role")]
    public async Task Invalid_chat_requests_get_400_naming_the_param(string json, string? param)
    {
        _server.Enqueue(FakeBehavior.Reply("never sent"));

        using var response = await _client.SendAsync(Sse.Post("chat/completions", json));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Sse.Error(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        // An invalid request does not use up a scripted behaviour.
        Assert.Equal(1, _server.PendingBehaviors);
    }

    [Fact]
    public async Task Requests_are_recorded_with_their_exact_bytes_and_headers()
    {
        var bytes = Encoding.UTF8.GetBytes("{ \"model\" :\"m\",\n\"messages\":[{\"role\":\"user\",\"content\":\"h\\u00e9 \u00fc \u2603\"}] , \"x_extra\": 1.50 }");
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Trace", "abc-123");

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = Assert.Single(_server.Requests);
        Assert.Equal("POST", record.Method);
        Assert.Equal("/v1/chat/completions", record.Path);
        Assert.Equal(bytes, record.Body.ToArray());
        Assert.Equal("abc-123", record.Headers["x-trace"]);
        Assert.Equal("Bearer " + _server.ApiKey, record.Headers["Authorization"]);
        await record.Completed.WaitAsync(Sse.Patience);
        Assert.Equal(200, record.StatusCode);
        Assert.False(record.ClientAborted);
    }

    [Fact]
    public async Task Client_cancelling_mid_stream_is_observed_as_an_abort()
    {
        _server.Enqueue(FakeBehavior.StreamChunks(200, TimeSpan.FromMilliseconds(100)));
        using var cts = new CancellationTokenSource();

        using (var response = await Sse.StartStreamAsync(_client, Sse.ChatBody(stream: true), cts.Token))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
            Assert.NotNull(await NextDataAsync(reader, cts.Token));
            Assert.NotNull(await NextDataAsync(reader, cts.Token));
            Assert.Equal(1, _server.ActiveRequests);
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => NextDataAsync(reader, cts.Token));
        }

        var record = Assert.Single(_server.Requests);
        Assert.True(await record.WaitForClientAbortAsync(Sse.Patience), "the server did not see the client leave");
        Assert.False(record.ServerAborted);
        Assert.InRange(record.ChunksSent, 2, 199);
        Assert.Equal(0, _server.ActiveRequests);
    }

    [Fact]
    public async Task Completed_stream_is_not_reported_as_aborted()
    {
        using var response = await Sse.StartStreamAsync(_client, Sse.ChatBody(stream: true));
        await Sse.ReadAllAsync(response);

        var record = Assert.Single(_server.Requests);
        Assert.False(await record.WaitForClientAbortAsync(Sse.Patience));
        Assert.True(record.IsCompleted);
    }

    [Fact]
    public async Task Embeddings_are_deterministic_and_base64_encodes_the_same_float32_vectors()
    {
        const string FloatBody = """{"model":"text-embedding-3-small","input":["alpha beta","gamma"]}""";
        const string Base64Body = """{"model":"text-embedding-3-small","input":["alpha beta","gamma"],"encoding_format":"base64"}""";

        var floats = Sse.Parse(await (await _client.SendAsync(Sse.Post("embeddings", FloatBody))).Content.ReadAsStringAsync());
        var again = Sse.Parse(await (await _client.SendAsync(Sse.Post("embeddings", FloatBody))).Content.ReadAsStringAsync());
        var encoded = Sse.Parse(await (await _client.SendAsync(Sse.Post("embeddings", Base64Body))).Content.ReadAsStringAsync());

        Assert.Equal("list", floats.GetProperty("object").GetString());
        Assert.Equal("text-embedding-3-small", floats.GetProperty("model").GetString());
        Assert.Equal(3, floats.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(3, floats.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        var data = floats.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal([0, 1], data.Select(d => d.GetProperty("index").GetInt32()));
        Assert.All(data, d => Assert.Equal("embedding", d.GetProperty("object").GetString()));
        var vectors = data.Select(d => d.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToList();
        Assert.All(vectors, v => Assert.Equal(8, v.Length));
        Assert.All(vectors, v => Assert.InRange(Math.Sqrt(v.Sum(x => (double)x * x)), 0.999, 1.001));
        Assert.NotEqual(vectors[0], vectors[1]);
        Assert.Equal(vectors[0], again.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray());

        var decoded = encoded.GetProperty("data").EnumerateArray()
            .Select(d => Convert.FromBase64String(d.GetProperty("embedding").GetString()!))
            .Select(b => Enumerable.Range(0, b.Length / 4).Select(i => BitConverter.ToSingle(b, i * 4)).ToArray())
            .ToList();
        Assert.True(BitConverter.IsLittleEndian);
        Assert.Equal(vectors, decoded);
    }

    [Fact]
    public async Task Embeddings_honour_dimensions_and_string_input_and_reject_bad_input()
    {
        using var ok = await _client.SendAsync(Sse.Post("embeddings", """{"model":"e","input":"just one","dimensions":32}"""));
        using var bad = await _client.SendAsync(Sse.Post("embeddings", """{"model":"e","input":[]}"""));
        _server.Enqueue(FakeBehavior.Status(500));
        using var failed = await _client.SendAsync(Sse.Post("embeddings", """{"model":"e","input":"x"}"""));

        var data = Assert.Single(Sse.Parse(await ok.Content.ReadAsStringAsync()).GetProperty("data").EnumerateArray());
        Assert.Equal(32, data.GetProperty("embedding").GetArrayLength());
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("input", Sse.Error(await bad.Content.ReadAsStringAsync()).GetProperty("param").GetString());
        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
    }

    [Fact]
    public async Task Models_lists_the_configured_models()
    {
        await using var server = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Models = ["a", "b"], ApiKey = "sk-chosen" });
        using var client = Sse.Client(server);

        var body = Sse.Parse(await client.GetStringAsync("models"));

        Assert.Equal("sk-chosen", server.ApiKey);
        Assert.Equal("list", body.GetProperty("object").GetString());
        Assert.Equal(["a", "b"], body.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.All(body.GetProperty("data").EnumerateArray(), m =>
        {
            Assert.Equal("model", m.GetProperty("object").GetString());
            Assert.True(m.TryGetProperty("created", out _));
            Assert.True(m.TryGetProperty("owned_by", out _));
        });
    }

    [Fact]
    public async Task Unreachable_base_url_refuses_connections()
    {
        using var client = new HttpClient { BaseAddress = new Uri(FakeOpenAiServer.GetUnreachableBaseUrl() + "/"), Timeout = Sse.Patience };

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("models"));

        Assert.Equal(HttpRequestError.ConnectionError, error.HttpRequestError);
    }

    private static async Task<string?> NextDataAsync(StreamReader reader, CancellationToken ct = default)
    {
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal)) return line["data: ".Length..];
        }
        return null;
    }
}
