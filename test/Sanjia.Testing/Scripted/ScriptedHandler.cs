using Sanjia.Abstractions;
using Sanjia.Core.Pipeline;

namespace Sanjia.Testing;

/// <summary>A terminal pipeline stage that answers every call with <paramref name="answer"/>'s result.</summary>
public sealed class ScriptedHandler(Func<ChatOutcome> answer) : CallHandler<ChatContext, ChatOutcome>
{
    public override ValueTask<ChatOutcome> HandleAsync(ChatContext context, CancellationToken cancellationToken) => ValueTask.FromResult(answer());
}
