using System.Globalization;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Routing.Health;

namespace Sanjia.Core.Routing;

/// <summary>
/// The terminal stage of the pipeline, for every kind of call (<see cref="ICallKind{TContext, TOutcome}"/>: chat,
/// embeddings). Per request: keep the deployments that serve the kind and whose context window fits, let the
/// alias's strategy order them, then try them within ONE attempt budget (<see cref="RetryOptions.MaxAttempts"/>):
/// a transient failure moves on to the next deployment at once; when every deployment has been tried, the ones that
/// failed transiently are tried again after an exponential, jittered backoff that honours <c>Retry-After</c>.
/// Health (breaker, cool-down, concurrency limit) filters each candidate just before its attempt. Streams are
/// peeked: a stream that fails before its first chunk is a failed attempt like any other; after the first chunk
/// the stream belongs to the client and a failure ends it (see <see cref="RoutedStream"/>).
/// </summary>
public sealed partial class ResilientRouter(
    RoutingStrategies strategies,
    DeploymentStateStore states,
    RoutingSettings settings,
    TimeProvider time,
    IRandomSource random,
    ILogger<ResilientRouter> logger)
{
    internal CancellationToken DrainExpired => settings.DrainExpired;

    /// <summary>The router as the terminal stage of the pipeline for one kind of call.</summary>
    public CallHandler<TContext, TOutcome> For<TKind, TContext, TOutcome>()
        where TKind : struct, ICallKind<TContext, TOutcome>
        where TContext : CallContext =>
        new Terminal<TKind, TContext, TOutcome>(this);

    private sealed class Terminal<TKind, TContext, TOutcome>(ResilientRouter router) : CallHandler<TContext, TOutcome>
        where TKind : struct, ICallKind<TContext, TOutcome>
        where TContext : CallContext
    {
        public override ValueTask<TOutcome> HandleAsync(TContext context, CancellationToken cancellationToken) =>
            router.RouteAsync<TKind, TContext, TOutcome>(context, cancellationToken);
    }

    public async ValueTask<TOutcome> RouteAsync<TKind, TContext, TOutcome>(TContext context, CancellationToken cancellationToken)
        where TKind : struct, ICallKind<TContext, TOutcome>
        where TContext : CallContext
    {
        // The options of the snapshot the request resolved its model in, never a newer one's (null outside the host).
        var options = context.Model.Routing ?? settings.Current;
        var model = context.Model;
        // A running rollout's candidate is never in the usual order; it goes first in its share of the requests.
        var rollout = model.Rollout;
        var candidates = new List<RouteCandidate>();
        for (var i = 0; i < model.Deployments.Count; i++)
        {
            if (TKind.Serves(model.Deployments[i]) && (rollout is null || !ReferenceEquals(model.Deployments[i], rollout.Candidate)))
            {
                candidates.Add(new RouteCandidate(model.Deployments[i], states.Get(model.Deployments[i]), i));
            }
        }
        if (candidates.Count == 0)
        {
            return TKind.From(TKind.NotServed(model));
        }

        var promptTokens = -1;
        if (candidates.Any(c => c.Settings.ContextWindow is not null) || string.Equals(model.Strategy ?? options.DefaultStrategy, "lowest-cost", StringComparison.OrdinalIgnoreCase))
        {
            promptTokens = TKind.EstimatedTokens(context);
            var fitting = candidates.Where(c => c.Settings.ContextWindow is not { } w || promptTokens <= w).ToList();
            if (fitting.Count == 0)
            {
                return TKind.From(TKind.TooLarge(context, promptTokens, candidates.Max(c => c.Settings.ContextWindow ?? 0)));
            }
            foreach (var skipped in candidates.Except(fitting))
            {
                context.Route.Add(new RouteStep(skipped.Deployment.Id, "context"));
            }
            candidates = fitting;
        }

        var strategy = strategies.Find(model.Strategy ?? options.DefaultStrategy) ?? new PriorityStrategy();
        var ordered = strategy.Order(candidates, new RouteRequest(TKind.ChatRequestOf(context), Math.Max(0, promptTokens)));
        if (rollout is not null && TakesCandidate<TKind, TContext, TOutcome>(context, rollout, ref promptTokens))
        {
            ordered = [new RouteCandidate(rollout.Candidate, states.Get(rollout.Candidate), RouteCandidate.RolloutIndex), .. ordered];
        }
        var result = await RunAsync<TKind, TContext, TOutcome>(context, ordered, options, cancellationToken).ConfigureAwait(false);
        // One line per request that needed more than one attempt (the per-attempt lines are at Debug level).
        if (context.Attempts > 1 && logger.IsEnabled(LogLevel.Information))
        {
            LogRouted(logger, context.RequestId, context.Model.RequestedId, TKind.ErrorOf(result) is null ? "answered" : "failed", context.Attempts, string.Join(" -> ", context.Route));
        }
        return result;
    }

    /// <summary>Whether this request is in the rollout's share (drawn once per request, <see cref="CallContext.InRolloutShare"/>) and the candidate can take it.</summary>
    private bool TakesCandidate<TKind, TContext, TOutcome>(TContext context, RolloutRoute rollout, ref int promptTokens)
        where TKind : struct, ICallKind<TContext, TOutcome>
        where TContext : CallContext
    {
        // Compare runs (evaluation keys) measure the alias as it routes without the rollout: a split would mix two
        // deployments into one column of their figures.
        if (context.Caller.IsEvaluation || !TKind.Serves(rollout.Candidate) || !context.InRolloutShare(rollout, random)) return false;
        if (rollout.Candidate.Settings.ContextWindow is not { } window) return true;
        if (promptTokens < 0) promptTokens = TKind.EstimatedTokens(context);
        if (promptTokens <= window) return true;
        context.Route.Add(new RouteStep(rollout.Candidate.Id, "context"));
        return false;
    }

    private async ValueTask<TOutcome> RunAsync<TKind, TContext, TOutcome>(TContext context, IReadOnlyList<RouteCandidate> ordered, RoutingOptions options, CancellationToken cancellationToken)
        where TKind : struct, ICallKind<TContext, TOutcome>
        where TContext : CallContext
    {
        var tried = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var pending = ordered;
        GatewayError? last = null;
        TimeSpan? retryAfter = null;
        var busy = false;
        // The error that made a skipped deployment ask to be left alone (e.g. a local model's full queue).
        GatewayError? cooledBy = null;
        // Evaluation traffic leaves shared health alone: no breaker, cool-down or latency reads or writes.
        var isolated = context.Caller.IsEvaluation;
        var maxAttempts = Math.Max(1, options.Retry.MaxAttempts);
        // When this round was due to start. A cool-down that ends by then counts as over: timers may fire a few
        // milliseconds early, and a wait for exactly that Retry-After must not skip the deployment once more.
        var resumeAt = time.GetUtcNow();
        for (var round = 0; pending.Count > 0 && round < maxAttempts; round++)
        {
            var again = new List<RouteCandidate>();
            foreach (var candidate in pending)
            {
                if (context.Attempts >= maxAttempts) break;
                var state = candidate.State;
                var id = candidate.Deployment.Id;
                // In every round, not only the first: a deployment that asked to be left alone is skipped until its
                // Retry-After has passed, while the others are retried after the (shorter) backoff.
                if (!isolated && state.CoolingUntil is { } until && until > resumeAt)
                {
                    context.Route.Add(new RouteStep(id, "cooling"));
                    cooledBy ??= state.CoolingCause;
                    again.Add(candidate);
                    retryAfter = Min(retryAfter, until - time.GetUtcNow());
                    continue;
                }
                var probe = false;
                if (!isolated && !state.Breaker.TryEnter(out probe))
                {
                    context.Route.Add(new RouteStep(id, "open"));
                    if (state.Breaker.OpenUntil is { } open) retryAfter = Min(retryAfter, open - time.GetUtcNow());
                    continue;
                }
                if (!state.TryAcquire(candidate.Settings.MaxConcurrentRequests))
                {
                    state.Breaker.OnAbandoned(probe);
                    context.Route.Add(new RouteStep(id, "busy"));
                    busy = true;
                    again.Add(candidate);
                    continue;
                }

                context.Attempts++;
                if (!tried.Add(id)) context.Retries++;
                else if (context.Attempts > 1) context.Fallbacks++;
                context.Deployment = candidate.Deployment;

                var outcome = await AttemptAsync<TKind, TContext, TOutcome>(context, candidate, probe, isolated, options, cancellationToken).ConfigureAwait(false);
                if (TKind.ErrorOf(outcome) is not { } error)
                {
                    context.Route.Add(new RouteStep(id, "ok"));
                    return outcome;
                }
                last = error;
                context.Route.Add(new RouteStep(id, FailureClassifier.Label(error)));
                var action = FailureClassifier.Classify(error, options);
                // The client named the alias, not the rollout's candidate: a candidate whose model is not there (the
                // vendor's 404, a local model's file removed) leaves the request to the alias's usual order.
                if (action == FailureAction.Return && candidate.Index == RouteCandidate.RolloutIndex && FailureClassifier.IsModelMissing(error))
                {
                    action = FailureAction.NextDeployment;
                }
                switch (action)
                {
                    case FailureAction.Return:
                        return outcome;
                    case FailureAction.Retry:
                        again.Add(candidate);
                        if (error.RetryAfter is { } ra)
                        {
                            if (!isolated) state.CoolDown(ra, error);
                            retryAfter = Min(retryAfter, ra);
                        }
                        LogFallingBack(logger, context.RequestId, id, error.Code ?? error.Kind.ToString());
                        break;
                    default:
                        LogFallingBack(logger, context.RequestId, id, error.Code ?? error.Kind.ToString());
                        break;
                }
            }
            // No round follows the last one: a wait now would only delay the answer (a round may make no attempt at
            // all when every candidate was busy or cooling, so the attempt count alone does not end the loop in time).
            if (context.Attempts >= maxAttempts || again.Count == 0 || round == maxAttempts - 1)
            {
                break;
            }
            // Every candidate had its turn: back off before the next round, at least until the earliest Retry-After.
            var backoff = Backoff(options.Retry, round);
            // Isolated calls do not read the shared cool-downs; they still wait for the Retry-After they were sent.
            var earliest = isolated ? (retryAfter is { } own && own > TimeSpan.Zero ? own : TimeSpan.Zero)
                : again.Select(c => c.State.CoolingUntil is { } u ? u - time.GetUtcNow() : TimeSpan.Zero).Min();
            if (earliest > TimeSpan.FromSeconds(options.Retry.MaxRetryAfterSeconds))
            {
                break;
            }
            var delay = earliest > backoff ? earliest : backoff;
            resumeAt = time.GetUtcNow() + delay;
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }
            pending = again;
            retryAfter = null;
        }

        if (last is null && !busy && cooledBy is not null)
        {
            // Nothing was attempted because the deployments asked to be left alone: say why, as they did.
            return TKind.From(cooledBy with { RetryAfter = retryAfter is { } wait && wait > TimeSpan.Zero ? wait : cooledBy.RetryAfter ?? TimeSpan.FromSeconds(1) });
        }
        if (last is null)
        {
            // Nothing was attempted: every deployment was open, cooling down or at its limit.
            return TKind.From(new GatewayError(GatewayErrorKind.Overloaded,
                busy ? $"Every deployment of '{context.Model.RequestedId}' is at its concurrency limit; retry shortly."
                     : $"Every deployment of '{context.Model.RequestedId}' is temporarily unavailable after repeated failures; retry later.")
            {
                Code = busy ? "deployments_busy" : "no_healthy_deployment",
                RetryAfter = retryAfter is { } r && r > TimeSpan.Zero ? r : TimeSpan.FromSeconds(1),
            });
        }
        if (retryAfter is { } after && after > TimeSpan.Zero && (last.RetryAfter is null || last.RetryAfter < after))
        {
            last = last with { RetryAfter = after };
        }
        return TKind.From(last);
    }

    private async ValueTask<TOutcome> AttemptAsync<TKind, TContext, TOutcome>(TContext context, RouteCandidate candidate, bool probe, bool isolated, RoutingOptions options,
        CancellationToken cancellationToken)
        where TKind : struct, ICallKind<TContext, TOutcome>
        where TContext : CallContext
    {
        var state = candidate.State;
        var deployment = candidate.Deployment;
        var timeouts = AttemptTimeouts.For(options.Timeouts, candidate.Settings, context.RequestedTimeout, deployment.Provider.Name);
        var started = time.GetTimestamp();
        using var firstToken = new CancellationTokenSource(timeouts.FirstToken, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, firstToken.Token);
        StreamingChatResponse? stream = null;
        var handedOver = false;
        // One client span per attempt (null when nothing listens); a stream's ends with the stream (RoutedStream).
        var span = Telemetry.GatewayTelemetry.StartAttempt(context, deployment);
        try
        {
            var outcome = await TKind.CallAsync(context, deployment, linked.Token).ConfigureAwait(false);
            if (TKind.ErrorOf(outcome) is { } error)
            {
                Telemetry.GatewayTelemetry.EndAttempt(span, deployment, error.Usage, error);
                NoteConsumed(context, candidate, error.Usage, error, started);
                Fail(state, probe, error, countIt: !isolated && FailureClassifier.CountsAgainstDeployment(error), options);
                return outcome;
            }
            if (TKind.StreamOf(outcome) is { } s)
            {
                stream = s;
                // Peek: fail over is only possible until the first chunk reaches the client.
                var more = await s.MoveNextAsync(linked.Token).ConfigureAwait(false);
                RecordSuccess(state, probe, isolated, started);
                handedOver = true;
                // Time to first token, measured here once: from the request's arrival, on the engine's clock.
                var firstChunk = more ? time.GetElapsedTime(context.StartTimestamp) : (TimeSpan?)null;
                return TKind.From(new RoutedStream(s, more, state, timeouts, options, time, started, firstChunk, this, isolated) { Span = span, Deployment = deployment });
            }
            RecordSuccess(state, probe, isolated, started);
            Telemetry.GatewayTelemetry.EndAttempt(span, deployment, TKind.UsageOf(outcome), null, span is { IsAllDataRequested: true } ? TKind.FinishReasonOf(outcome) : null);
            return outcome;
        }
        catch (GatewayException ex)
        {
            Telemetry.GatewayTelemetry.EndAttempt(span, deployment, ex.Error.Usage, ex.Error);
            // A stream that failed while being peeked: nothing reached the client, but the upstream may have produced.
            NoteConsumed(context, candidate, ex.Error.Usage ?? (stream is { UpstreamProduced: true } ? stream.Usage : null), ex.Error, started);
            Fail(state, probe, ex.Error, !isolated && FailureClassifier.CountsAgainstDeployment(ex.Error), options);
            return TKind.From(ex.Error);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var error = new GatewayError(GatewayErrorKind.UpstreamTimeout,
                $"{deployment.Id} sent no {(context.Stream ? "first token" : "answer")} within {timeouts.FirstToken.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s.")
            { Code = UpstreamErrorCodes.Timeout };
            Telemetry.GatewayTelemetry.EndAttempt(span, deployment, null, error);
            // Timed out after the upstream had started producing: estimate from what was received.
            NoteConsumed(context, candidate, stream is { UpstreamProduced: true } ? stream.Usage with { Estimated = true } : null, error, started);
            // A caller's own shorter timeout says nothing about the deployment.
            Fail(state, probe, error, countIt: !isolated && !timeouts.ShortenedByCaller, options);
            return TKind.From(error);
        }
        catch (OperationCanceledException)
        {
            if (span is not null) Telemetry.GatewayTelemetry.EndAttempt(span, deployment, null, Telemetry.GatewayTelemetry.ClientClosed);
            state.Breaker.OnAbandoned(probe);
            throw;
        }
        finally
        {
            if (!handedOver)
            {
                if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
                state.Release();
            }
        }
    }

    private void RecordSuccess(DeploymentState state, bool probe, bool isolated, long started)
    {
        if (isolated) return;
        state.RecordLatency(time.GetElapsedTime(started));
        state.Breaker.OnSuccess(probe);
    }

    /// <summary>
    /// A failed attempt gets its own ledger row when it consumed tokens, and always when it was a rollout's candidate:
    /// the rollout's guard counts the candidate's failures from the ledger, and a fallback that answered would
    /// otherwise hide them.
    /// </summary>
    private void NoteConsumed(CallContext context, RouteCandidate candidate, TokenUsage? usage, GatewayError error, long started)
    {
        if (usage is { Total: > 0 } || candidate.Index == RouteCandidate.RolloutIndex)
        {
            context.ConsumedAttempts.Add(new ConsumedAttempt(context.Attempts, candidate.Deployment, usage ?? default, error, time.GetElapsedTime(started)));
        }
    }

    private void Fail(DeploymentState state, bool probe, GatewayError error, bool countIt, RoutingOptions options)
    {
        if (!countIt)
        {
            state.Breaker.OnAbandoned(probe);
            return;
        }
        state.RecordFailure(error.Message);
        var wasClosed = state.Breaker.State == BreakerState.Closed;
        state.Breaker.OnFailure(options.Health, probe);
        if (state.Breaker.State == BreakerState.Open && (wasClosed || probe))
        {
            LogBreakerOpened(logger, state.Id, state.Breaker.ConsecutiveFailures);
        }
    }

    internal void OnStreamFailed(DeploymentState state, bool probe, GatewayError error, RoutingOptions options) =>
        Fail(state, probe, error, FailureClassifier.CountsAgainstDeployment(error), options);

    /// <summary>Exponential backoff with jitter: a random delay in [d/2, d], d = base·2^round capped at the maximum.</summary>
    internal TimeSpan Backoff(RetryOptions o, int round)
    {
        var d = Math.Min(o.MaxDelaySeconds, o.BaseDelaySeconds * Math.Pow(2, round));
        return TimeSpan.FromSeconds(d * (0.5 + (0.5 * random.NextDouble())));
    }

    private static TimeSpan? Min(TimeSpan? a, TimeSpan b) => a is { } x && x < b ? x : b;

    [LoggerMessage(EventId = LogEvents.FallingBack, Level = LogLevel.Debug, Message = "Request {RequestId}: {Deployment} failed ({Error}), trying the next deployment")]
    private static partial void LogFallingBack(ILogger logger, string requestId, string deployment, string error);

    internal void OnStreamEndedByShutdown(DeploymentState state) => LogStreamEndedByShutdown(logger, state.Id);

    [LoggerMessage(EventId = LogEvents.StreamEndedByShutdown, Level = LogLevel.Warning, Message = "A stream from {Deployment} was ended by the shutdown: the drain time is over")]
    private static partial void LogStreamEndedByShutdown(ILogger logger, string deployment);

    [LoggerMessage(EventId = LogEvents.BreakerOpened, Level = LogLevel.Warning, Message = "Circuit breaker opened for {Deployment} after {Failures} consecutive failures")]
    private static partial void LogBreakerOpened(ILogger logger, string deployment, int failures);

    [LoggerMessage(EventId = LogEvents.Routed, Level = LogLevel.Information, Message = "Request {RequestId} for {Model} {Result} after {Attempts} attempts: {Route}")]
    private static partial void LogRouted(ILogger logger, string requestId, string model, string result, int attempts, string route);
}
