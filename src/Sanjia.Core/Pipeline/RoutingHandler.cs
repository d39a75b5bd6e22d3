using Sanjia.Abstractions;

namespace Sanjia.Core.Pipeline;

/// <summary>
/// The terminal stage: tries the model's deployments in order and moves to the next on failures that another
/// deployment may not share (5xx, unreachable, timeout, rate limited). Client errors are returned at once.
/// Streams fail over only here, before the first byte reaches the client.
/// </summary>
public sealed class RoutingHandler : ChatHandler
{
    public override async ValueTask<ChatOutcome> HandleAsync(ChatContext context, CancellationToken cancellationToken)
    {
        var deployments = context.Model.Deployments;
        ChatOutcome last = new GatewayError(GatewayErrorKind.UpstreamUnreachable, $"No deployment is configured for '{context.Model.RequestedId}'.");
        for (var i = 0; i < deployments.Count; i++)
        {
            var deployment = deployments[i];
            var backend = deployment.Provider.Chat;
            if (backend is null)
            {
                last = GatewayError.Invalid($"The model '{context.Model.RequestedId}' is not a chat model.", "model", "model_not_chat");
                continue;
            }
            context.Deployment = deployment;
            context.Attempts++;
            if (i > 0) context.Fallbacks++;
            last = await backend.ChatAsync(new ChatCall(context.Request, deployment.UpstreamModel, context.RequestId), cancellationToken).ConfigureAwait(false);
            if (last.Response is { } response)
            {
                response.Deployment = deployment.Id;
                return last;
            }
            if (!IsWorthFallingBack(last.Error!))
            {
                return last;
            }
        }
        return last;
    }

    internal static bool IsWorthFallingBack(GatewayError error) => error.Kind is
        GatewayErrorKind.UpstreamFailed or GatewayErrorKind.UpstreamUnreachable or GatewayErrorKind.UpstreamTimeout
        or GatewayErrorKind.RateLimited or GatewayErrorKind.Overloaded;
}
