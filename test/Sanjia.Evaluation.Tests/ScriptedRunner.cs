using System.Collections.Concurrent;
using Sanjia.Evaluation.Running;

namespace Sanjia.Evaluation.Tests;

/// <summary>An in-memory <see cref="IModelRunner"/> whose answers are a function of the request.</summary>
internal sealed class ScriptedRunner(Func<ModelRequest, ModelCall> answer) : IModelRunner
{
    public ConcurrentQueue<ModelRequest> Calls { get; } = new();

    public Func<string, float[]> Embed { get; init; } = text => [text.Length, 1];

    /// <summary>Awaited before answering, e.g. to hold calls in flight until a test cancels.</summary>
    public Func<ModelRequest, CancellationToken, Task>? Before { get; init; }

    public async Task<ModelCall> ChatAsync(ModelRequest request, CancellationToken cancellationToken)
    {
        Calls.Enqueue(request);
        if (Before is not null) await Before(request, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        return answer(request);
    }

    public Task<(IReadOnlyList<float[]>? Vectors, string? Error)> EmbedAsync(string model, IReadOnlyList<string> inputs, CancellationToken cancellationToken) =>
        Task.FromResult<(IReadOnlyList<float[]>?, string?)>(([.. inputs.Select(Embed)], null));

    public static ModelCall Text(ModelRequest r, string text) => new() { Model = r.Model, Text = text, InputTokens = 10, OutputTokens = 5, LatencyMs = 1 };
}
