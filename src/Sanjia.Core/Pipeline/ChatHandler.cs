using Sanjia.Abstractions;

namespace Sanjia.Core.Pipeline;

/// <summary>A stage of the chat pipeline. Stages are delegating decorators; the last one calls a provider.</summary>
public abstract class ChatHandler
{
    public abstract ValueTask<ChatOutcome> HandleAsync(ChatContext context, CancellationToken cancellationToken);
}

/// <summary>A stage that does its work around the next one.</summary>
public abstract class DelegatingChatHandler(ChatHandler inner) : ChatHandler
{
    protected ChatHandler Inner { get; } = inner;
}

/// <summary>Composes stages: the first one added is the outermost.</summary>
public sealed class ChatPipelineBuilder
{
    private readonly List<Func<ChatHandler, ChatHandler>> _stages = [];

    public ChatPipelineBuilder Use(Func<ChatHandler, ChatHandler> stage)
    {
        _stages.Add(stage);
        return this;
    }

    public ChatHandler Build(ChatHandler terminal)
    {
        var handler = terminal;
        for (var i = _stages.Count - 1; i >= 0; i--)
        {
            handler = _stages[i](handler);
        }
        return handler;
    }
}
