using System.Text.Json;
using Sanjia.Abstractions;

namespace Sanjia.Providers.Local.Tests;

[CollectionDefinition(Name)]
public sealed class LocalModelCollection : ICollectionFixture<LocalModelFixture>
{
    public const string Name = "local model";
}

/// <summary>One provider over the test model, shared by the tests that need no special limits.</summary>
public sealed class LocalModelFixture : IDisposable
{
    internal LocalHarness Harness { get; } = new();

    public void Dispose() => Harness.Dispose();
}

[Collection(LocalModelCollection.Name)]
public sealed class LocalChatTests(LocalModelFixture fixture)
{
    private readonly LocalHarness _local = fixture.Harness;

    private static Dictionary<string, object?> Fields(params (string Key, object? Value)[] fields) =>
        fields.ToDictionary(f => f.Key, f => f.Value);

    [Fact]
    public async Task Completion_has_content_and_exact_usage()
    {
        var (json, usage) = await _local.CompleteAsync(LocalHarness.Request(extra: Fields(("max_tokens", 24), ("seed", 7))));

        Assert.Equal("chat.completion", json.GetProperty("object").GetString());
        Assert.Equal("local/" + TestModel.Name, json.GetProperty("model").GetString());
        Assert.StartsWith("chatcmpl-", json.GetProperty("id").GetString());
        Assert.Equal("assistant", json.GetProperty("choices")[0].GetProperty("message").GetProperty("role").GetString());
        Assert.False(string.IsNullOrWhiteSpace(LocalHarness.Content(json)));

        var u = json.GetProperty("usage");
        Assert.True(u.GetProperty("prompt_tokens").GetInt32() > 0);
        Assert.InRange(u.GetProperty("completion_tokens").GetInt32(), 1, 24);
        Assert.Equal(u.GetProperty("prompt_tokens").GetInt32() + u.GetProperty("completion_tokens").GetInt32(), u.GetProperty("total_tokens").GetInt32());
        Assert.Equal(u.GetProperty("prompt_tokens").GetInt32(), usage.Input);
        Assert.Equal(u.GetProperty("completion_tokens").GetInt32(), usage.Output);
        Assert.False(usage.Estimated);
    }

    [Fact]
    public async Task Stream_yields_role_then_content_then_finish_then_usage_when_asked()
    {
        var fields = Fields(("max_tokens", 30), ("seed", 11), ("temperature", 0.8));
        var (complete, completeUsage) = await _local.CompleteAsync(LocalHarness.Request(extra: fields));

        fields["stream"] = true;
        fields["stream_options"] = new { include_usage = true };
        var (chunks, usage) = await LocalHarness.ReadAllAsync(await _local.StreamAsync(LocalHarness.Request(extra: fields)));

        Assert.True(chunks.Count >= 4, $"only {chunks.Count} chunks");
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());

        var first = chunks[0].GetProperty("choices")[0].GetProperty("delta");
        Assert.Equal("assistant", first.GetProperty("role").GetString());
        Assert.Equal("", first.GetProperty("content").GetString());

        var finish = chunks[^2].GetProperty("choices")[0];
        Assert.Equal(LocalHarness.FinishReason(complete), finish.GetProperty("finish_reason").GetString());
        Assert.All(chunks.Take(chunks.Count - 2), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind));

        var usageChunk = chunks[^1];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        Assert.Equal(completeUsage.Input, usageChunk.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(completeUsage.Output, usageChunk.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(completeUsage, usage);

        // Same seed, same text: the stream carries exactly what the complete answer does, token by token.
        Assert.Equal(LocalHarness.Content(complete), LocalHarness.StreamedText(chunks));
        Assert.True(chunks.Count - 3 > 1, "content arrived in a single chunk");
    }

    [Fact]
    public async Task Stream_without_include_usage_ends_with_the_finish_chunk()
    {
        var (chunks, usage) = await LocalHarness.ReadAllAsync(await _local.StreamAsync(
            LocalHarness.Request(extra: Fields(("max_tokens", 10), ("stream", true)))));

        var last = chunks[^1];
        Assert.Equal(1, last.GetProperty("choices").GetArrayLength());
        Assert.Equal(JsonValueKind.String, last.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind);
        Assert.All(chunks, c => Assert.False(c.TryGetProperty("usage", out _)));
        Assert.True(usage.Input > 0 && usage.Output > 0);
    }

    [Theory]
    [InlineData("max_tokens", 1)]
    [InlineData("max_tokens", 9)]
    [InlineData("max_completion_tokens", 13)]
    public async Task Token_limit_is_honoured_exactly(string field, int limit)
    {
        var (json, usage) = await _local.CompleteAsync(LocalHarness.Request(extra: Fields((field, limit), ("seed", 3))));

        Assert.Equal("length", LocalHarness.FinishReason(json));
        Assert.Equal(limit, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(limit, usage.Output);
    }

    [Fact]
    public async Task Streamed_token_limit_counts_the_same()
    {
        var (chunks, usage) = await LocalHarness.ReadAllAsync(await _local.StreamAsync(
            LocalHarness.Request(extra: Fields(("max_tokens", 6), ("stream", true), ("seed", 3)))));

        Assert.Equal("length", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(6, usage.Output);
    }

    [Fact]
    public async Task Stop_sequence_ends_the_output_just_before_it()
    {
        var fields = Fields(("max_tokens", 60), ("seed", 21), ("temperature", 0.7));
        var (free, _) = await _local.CompleteAsync(LocalHarness.Request(extra: fields));
        var text = LocalHarness.Content(free);
        var stop = PickStopWord(text);
        var expected = text[..text.IndexOf(stop, StringComparison.Ordinal)];

        fields["stop"] = stop;
        var (stopped, usage) = await _local.CompleteAsync(LocalHarness.Request(extra: fields));
        Assert.Equal(expected, LocalHarness.Content(stopped));
        Assert.Equal("stop", LocalHarness.FinishReason(stopped));
        Assert.True(usage.Output < 60);

        // As an array, and streamed: the stop text never reaches the client, not even in part.
        fields["stop"] = new[] { "\u0001never", stop };
        fields["stream"] = true;
        var (chunks, _) = await LocalHarness.ReadAllAsync(await _local.StreamAsync(LocalHarness.Request(extra: fields)));
        Assert.Equal(expected, LocalHarness.StreamedText(chunks));
        Assert.Equal("stop", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    // Two words from the middle of the text: something comes before them, and they span several tokens, so the
    // stream has to hold back the first part of the stop text before it knows.
    private static string PickStopWord(string text)
    {
        var words = text.Split(' ');
        for (var i = words.Length / 2; i + 1 < words.Length; i++)
        {
            var phrase = words[i] + " " + words[i + 1];
            if (words[i].Length > 0 && words[i + 1].Length > 0 && text.IndexOf(phrase, StringComparison.Ordinal) > 0)
            {
                return phrase;
            }
        }
        Assert.Fail($"no two-word phrase to stop at in '{text}'");
        return "";
    }

    [Fact]
    public async Task Same_seed_gives_the_same_output_and_other_seeds_vary()
    {
        async Task<string> Run(int seed) => LocalHarness.Content((await _local.CompleteAsync(
            LocalHarness.Request(extra: Fields(("max_tokens", 30), ("seed", seed), ("temperature", 1.0), ("top_p", 0.95))))).Json);

        var a = await Run(1234);
        var b = await Run(1234);
        Assert.Equal(a, b);

        var others = new HashSet<string> { a };
        foreach (var seed in new[] { 1, 2, 3, 4 })
        {
            others.Add(await Run(seed));
        }
        Assert.True(others.Count >= 2, "five seeds all gave the same text");
    }

    [Fact]
    public async Task Abandoned_stream_reports_the_tokens_generated_so_far()
    {
        var stream = await _local.StreamAsync(LocalHarness.Request(extra: Fields(("max_tokens", 200), ("stream", true))));
        var contentChunks = 0;
        Assert.True(await stream.MoveNextAsync(CancellationToken.None)); // role
        while (contentChunks < 3 && await stream.MoveNextAsync(CancellationToken.None))
        {
            contentChunks++;
        }
        await stream.DisposeAsync();

        Assert.Equal(3, contentChunks);
        Assert.True(stream.Usage.Input > 0);
        Assert.InRange(stream.Usage.Output, 3, 199);
        Assert.False(await stream.MoveNextAsync(CancellationToken.None));
        Assert.NotNull(stream.TimeToFirstChunk);
    }

    [Theory]
    [InlineData("""{"n":2}""", "n")]
    [InlineData("""{"response_format":{"type":"json_object"}}""", "response_format")]
    [InlineData("""{"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}}}""", "response_format")]
    [InlineData("""{"logprobs":true}""", "logprobs")]
    public async Task Fields_it_cannot_honour_are_rejected_by_name(string extraJson, string param)
    {
        var body = Merge(LocalHarness.Request(), extraJson);
        var outcome = await _local.ChatAsync(body);

        Assert.False(outcome.IsSuccess);
        Assert.Equal(GatewayErrorKind.InvalidRequest, outcome.Error!.Kind);
        Assert.Equal(param, outcome.Error.Param);
        Assert.Contains(param, outcome.Error.Message);
        Assert.Equal(400, ErrorStatus.For(outcome.Error));
    }

    [Fact]
    public async Task Image_parts_are_rejected_naming_the_message()
    {
        var body = LocalHarness.Body(new
        {
            model = "local/" + TestModel.Name,
            messages = new object[]
            {
                new { role = "system", content = "Describe." },
                new { role = "user", content = new object[] { new { type = "text", text = "What is this?" }, new { type = "image_url", image_url = new { url = "data:image/png;base64,AAAA" } } } },
            },
        });
        var outcome = await _local.ChatAsync(body);

        Assert.Equal(GatewayErrorKind.InvalidRequest, outcome.Error!.Kind);
        Assert.Equal("messages[1].content", outcome.Error.Param);
    }

    [Fact]
    public async Task Plain_text_response_format_is_accepted()
    {
        var (json, _) = await _local.CompleteAsync(Merge(LocalHarness.Request(), """{"response_format":{"type":"text"},"max_tokens":3}"""));
        Assert.Equal(3, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task A_model_it_does_not_serve_is_not_found()
    {
        var call = _local.Call(LocalHarness.Request(model: "local/nope"), upstreamModel: "nope");
        var outcome = await _local.Chat.ChatAsync(call, CancellationToken.None);
        Assert.Equal(GatewayErrorKind.ModelNotFound, outcome.Error!.Kind);
        Assert.Contains("local/nope", outcome.Error.Message);
    }

    internal static string Merge(string body, string extraJson)
    {
        var target = System.Text.Json.Nodes.JsonNode.Parse(body)!.AsObject();
        foreach (var (k, v) in System.Text.Json.Nodes.JsonNode.Parse(extraJson)!.AsObject())
        {
            target[k] = v?.DeepClone();
        }
        return target.ToJsonString();
    }
}
