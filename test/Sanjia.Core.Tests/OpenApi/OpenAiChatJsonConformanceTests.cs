using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Core.Tests.OpenApi;

/// <summary>What <see cref="OpenAiChatJson"/> writes is what OpenAI's spec describes, so SDK clients can parse it.</summary>
public sealed class OpenAiChatJsonConformanceTests
{
    private const string Completion = "CreateChatCompletionResponse";
    private const string Chunk = "CreateChatCompletionStreamResponse";
    private static readonly TokenUsage Usage = new(Input: 12, Output: 5, CachedInput: 4, Reasoning: 2);

    [Theory]
    [InlineData("stop")]
    [InlineData("length")]
    [InlineData("content_filter")]
    public void A_completion_matches_the_spec(string finishReason)
    {
        var json = OpenAiChatJson.Completion(
            OpenAiChatJson.NewCompletionId(), 1_741_570_283, "local/qwen",
            [new OpenAiChatJson.Choice(0, "Hello \"world\" \u00e9\n", finishReason), new OpenAiChatJson.Choice(1, "", finishReason)],
            Usage);

        OpenApiSpec.AssertValid(Completion, json);
    }

    [Fact]
    public void A_completion_with_an_unknown_finish_reason_is_caught()
    {
        // Guards against the check above passing vacuously for whatever the writer produces.
        var json = OpenAiChatJson.Completion("chatcmpl-x", 1, "m", [new OpenAiChatJson.Choice(0, "x", "eos")], Usage);

        Assert.Contains(OpenApiSpec.Validate(Completion, json), e => e.StartsWith("/choices/0/finish_reason:", StringComparison.Ordinal));
    }

    [Fact]
    public void The_first_chunk_with_the_role_matches_the_spec()
    {
        var json = OpenAiChatJson.Chunk("chatcmpl-x", 1_741_570_283, "local/qwen", 0, role: "assistant", content: "", finishReason: null);

        OpenApiSpec.AssertValid(Chunk, json);
    }

    [Fact]
    public void A_content_chunk_matches_the_spec()
    {
        var json = OpenAiChatJson.Chunk("chatcmpl-x", 1_741_570_283, "local/qwen", 0, role: null, content: "Hel\u00e9lo", finishReason: null);

        OpenApiSpec.AssertValid(Chunk, json);
    }

    [Fact]
    public void A_content_chunk_with_usage_null_matches_the_spec()
    {
        var json = OpenAiChatJson.Chunk("chatcmpl-x", 1, "m", 0, role: null, content: "x", finishReason: null, includeUsageNull: true);

        OpenApiSpec.AssertValid(Chunk, json);
    }

    [Theory]
    [InlineData("stop")]
    [InlineData("length")]
    public void The_finish_chunk_matches_the_spec(string finishReason)
    {
        var json = OpenAiChatJson.Chunk("chatcmpl-x", 1_741_570_283, "local/qwen", 0, role: null, content: null, finishReason: finishReason);

        OpenApiSpec.AssertValid(Chunk, json);
    }

    [Fact]
    public void The_usage_chunk_matches_the_spec()
    {
        var json = OpenAiChatJson.UsageChunk("chatcmpl-x", 1_741_570_283, "local/qwen", Usage);

        OpenApiSpec.AssertValid(Chunk, json);
    }

    [Fact]
    public void A_whole_written_stream_matches_the_spec_chunk_by_chunk()
    {
        var id = OpenAiChatJson.NewCompletionId();
        byte[][] stream =
        [
            OpenAiChatJson.Chunk(id, 1, "m", 0, "assistant", "", null, includeUsageNull: true),
            .. "The quick brown fox".Split(' ').Select(word => OpenAiChatJson.Chunk(id, 1, "m", 0, null, word + " ", null, includeUsageNull: true)),
            OpenAiChatJson.Chunk(id, 1, "m", 0, null, null, "stop", includeUsageNull: true),
            OpenAiChatJson.UsageChunk(id, 1, "m", Usage),
        ];

        foreach (var chunk in stream) OpenApiSpec.AssertValid(Chunk, chunk);
    }
}
