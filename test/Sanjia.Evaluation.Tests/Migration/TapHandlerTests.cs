using System.Text;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pipeline.Taps;
using Sanjia.Testing;

namespace Sanjia.Evaluation.Tests.Migration;

/// <summary>The stage shadow testing and the body log hang from: what reaches a tap, and when.</summary>
public sealed class TapHandlerTests
{
    private sealed class RecordingTap(bool wants) : IChatTap
    {
        public List<CompletedChat> Seen { get; } = [];
        public int Asked { get; private set; }
        public bool Wants(ChatContext context) { Asked++; return wants; }
        public void Completed(CompletedChat chat) => Seen.Add(chat);
    }

    private static ChatContext Context(bool stream) => new("req-1", "/v1/chat/completions",
        ChatRequestParser.Parse(Encoding.UTF8.GetBytes($$"""{"model":"chat","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""")).Request!,
        new ResolvedModel("chat", ModelKind.Chat, [], IsAlias: true), new Caller("key-1", null, false), 0);

    private static CallHandler<ChatContext, ChatOutcome> Pipeline(Func<ChatOutcome> answer, params IChatTap[] taps) =>
        new PipelineBuilder().UseTaps(taps, TimeProvider.System).BuildChat(new ScriptedHandler(answer));

    [Fact]
    public async Task A_complete_answer_reaches_the_taps_that_want_it_with_the_request_and_answer()
    {
        var wanting = new RecordingTap(true);
        var other = new RecordingTap(false);
        var body = Encoding.UTF8.GetBytes("""{"choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"}}]}""");

        var outcome = await Pipeline(() => new CompleteChatResponse(body, new TokenUsage(2, 3)), wanting, other).HandleAsync(Context(false), CancellationToken.None);

        Assert.IsType<CompleteChatResponse>(outcome.Response); // the caller's answer is the same object
        var chat = Assert.Single(wanting.Seen);
        Assert.Empty(other.Seen);
        Assert.Equal(("req-1", "chat", "key-1"), (chat.RequestId, chat.Model, chat.KeyId));
        Assert.Equal("Hello there", chat.ResponseText());
        Assert.Contains("\"hi\"", Encoding.UTF8.GetString(chat.RequestBody.Span), StringComparison.Ordinal);
        Assert.Equal(3, chat.Usage.Output);
    }

    [Fact]
    public async Task A_stream_is_published_once_after_it_ended_and_its_chunks_pass_unchanged()
    {
        var tap = new RecordingTap(true);
        var outcome = await Pipeline(() => ScriptedStream.Words(["Hel", "lo"]), tap).HandleAsync(Context(true), CancellationToken.None);
        var stream = (StreamingChatResponse)outcome.Response!;

        var chunks = new List<string>();
        while (await stream.MoveNextAsync(CancellationToken.None)) chunks.Add(Encoding.UTF8.GetString(stream.Current.Span));
        Assert.Empty(tap.Seen); // not before the caller is done with it
        await stream.DisposeAsync();
        await stream.DisposeAsync();

        Assert.Equal(2, chunks.Count);
        Assert.Contains("\"Hel\"", chunks[0], StringComparison.Ordinal);
        Assert.Equal("Hello", Assert.Single(tap.Seen).ResponseText());
    }

    [Fact]
    public async Task An_abandoned_stream_or_an_error_reaches_no_tap()
    {
        var tap = new RecordingTap(true);
        var outcome = await Pipeline(() => ScriptedStream.Words(["a", "b", "c"]), tap).HandleAsync(Context(true), CancellationToken.None);
        var stream = (StreamingChatResponse)outcome.Response!;
        await stream.MoveNextAsync(CancellationToken.None);
        await stream.DisposeAsync();

        await Pipeline(() => GatewayError.Invalid("bad"), tap).HandleAsync(Context(false), CancellationToken.None);

        Assert.Empty(tap.Seen);
    }

    [Fact]
    public void Without_taps_no_stage_is_added()
    {
        var terminal = new ScriptedHandler(() => GatewayError.Invalid("x"));
        Assert.Same(terminal, new PipelineBuilder().UseTaps([], TimeProvider.System).BuildChat(terminal));
    }
}
