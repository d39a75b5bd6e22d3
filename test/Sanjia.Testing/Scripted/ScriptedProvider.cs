using System.Collections.Concurrent;
using Sanjia.Abstractions;
using Sanjia.Core.Models;

namespace Sanjia.Testing;

/// <summary>
/// A provider whose one chat backend answers from a script, in process (no sockets): each call takes the next
/// scripted answer (<see cref="Then(Func{ChatCall, CancellationToken, ValueTask{ChatOutcome}})"/>), FIFO; with the
/// script empty it fails with the constructor's <c>error</c>, or answers with a 5-chunk <see cref="ScriptedStream"/>
/// (streamed requests) or a fixed body with usage 3 + 4. For engine and router tests; HTTP-level tests use the fake
/// vendor servers instead.
/// </summary>
public sealed class ScriptedProvider(string name, GatewayError? error = null) : IProvider, IChatBackend
{
    private readonly ConcurrentQueue<Func<ChatCall, CancellationToken, ValueTask<ChatOutcome>>> _script = new();

    /// <summary>The upstream model of each call, in order.</summary>
    public List<string> Calls { get; } = [];

    /// <summary>The default stream fails with <c>upstream_failed</c> after this many chunks.</summary>
    public int? FailStreamAfter { get; init; }

    public string Name => name;
    public string Describe => name;
    public string Description => name;
    public IChatBackend Chat => this;
    public IEmbeddingBackend? Embeddings => null;
    public IReadOnlyList<(string Model, ModelKind Kind)> Models => [];
    public bool AcceptsUnlistedModels => true;

    /// <summary>Scripts the next unscripted call's answer.</summary>
    public ScriptedProvider Then(Func<ChatCall, CancellationToken, ValueTask<ChatOutcome>> answer)
    {
        _script.Enqueue(answer);
        return this;
    }

    /// <summary>Scripts the next unscripted call to fail with <paramref name="failure"/>.</summary>
    public ScriptedProvider Then(GatewayError failure) => Then((_, _) => ValueTask.FromResult<ChatOutcome>(failure));

    /// <summary>Scripts the next unscripted call to answer with <paramref name="response"/>.</summary>
    public ScriptedProvider Then(ChatResponse response) => Then((_, _) => ValueTask.FromResult<ChatOutcome>(response));

    public ValueTask<ChatOutcome> ChatAsync(ChatCall call, CancellationToken cancellationToken)
    {
        lock (Calls) Calls.Add(call.UpstreamModel);
        if (_script.TryDequeue(out var answer)) return answer(call, cancellationToken);
        if (error is not null) return ValueTask.FromResult<ChatOutcome>(error);
        if (call.Request.Stream) return ValueTask.FromResult<ChatOutcome>(ScriptedStream.Counting(5, FailStreamAfter));
        return ValueTask.FromResult<ChatOutcome>(new CompleteChatResponse("{}"u8.ToArray(), new TokenUsage(3, 4)));
    }
}
