using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Pipeline;

namespace Sanjia.Core.Routing.Health;

/// <summary>
/// Optional active health checks (<c>Sanjia:Routing:Health:ActiveChecks</c>, off by default because each check
/// costs a token or two): every interval, each aliased deployment gets a one-token request, and the result feeds
/// its breaker, so a broken deployment is found before a client hits it and a recovered one is re-admitted.
/// </summary>
public sealed partial class ActiveHealthChecks(GatewayEngine engine, DeploymentStateStore states, RoutingSettings settings, TimeProvider time, ILogger<ActiveHealthChecks> logger)
    : BackgroundService
{
    private static readonly ChatRequest Probe = ChatRequestParser.Parse(
        """{"model":"health-check","messages":[{"role":"user","content":"ping"}],"max_tokens":1}"""u8.ToArray()).Request!;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var health = (engine.Registry.Routing ?? settings.Current).Health;
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(health.ActiveCheckIntervalSeconds), time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (health.ActiveChecks)
            {
                await CheckAllAsync(stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Checks every aliased deployment once.</summary>
    public async Task CheckAllAsync(CancellationToken cancellationToken)
    {
        // One read of the configuration in force: its deployments with its routing options.
        var registry = engine.Registry;
        var options = registry.Routing ?? settings.Current;
        var deployments = registry.Aliases.SelectMany(a => a.Deployments).DistinctBy(d => d.Id).ToList();
        foreach (var d in deployments)
        {
            if (d.Provider.Chat is not { } chat) continue;
            var state = states.Get(d);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.Timeouts.FirstTokenSeconds), time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            GatewayError? error;
            try
            {
                var outcome = await chat.ChatAsync(new ChatCall(Probe, d.UpstreamModel, "health_" + Guid.NewGuid().ToString("N")), linked.Token).ConfigureAwait(false);
                if (outcome.Response is { } r) await r.DisposeAsync().ConfigureAwait(false);
                error = outcome.Error;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                error = new GatewayError(GatewayErrorKind.UpstreamTimeout, "health check timed out");
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (error is null)
            {
                state.Breaker.OnSuccess(isProbe: state.Breaker.State != BreakerState.Closed);
            }
            else if (FailureClassifier.CountsAgainstDeployment(error))
            {
                state.RecordFailure(error.Message);
                state.Breaker.OnFailure(options.Health, isProbe: false);
                LogCheckFailed(logger, d.Id, error.Code ?? error.Kind.ToString());
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.HealthCheckFailed, Level = LogLevel.Warning, Message = "Health check of {Deployment} failed: {Error}")]
    private static partial void LogCheckFailed(ILogger logger, string deployment, string error);
}
