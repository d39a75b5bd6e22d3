namespace Sanjia.Abstractions;

/// <summary>
/// Every log event id the gateway uses, in one list, so that an id names one event for log queries and alerts. A
/// <c>[LoggerMessage]</c> takes its <c>EventId</c> from here; a test checks that the values are unique and that no
/// <c>[LoggerMessage]</c> in the gateway's assemblies uses an id missing from this list. Ids are stable: a new event
/// gets a new number in its area's block, a retired one leaves a gap.
/// </summary>
public static class LogEvents
{
    // 1000: the HTTP layer.
    public const int UnhandledRequestError = 1000;
    // One line per request, under its own category (Sanjia.AccessLog) so that it can be switched off alone.
    public const int Access = 1100;
    // The access log's writer dropped lines because the console did not keep up.
    public const int AccessLinesDropped = 1101;

    // 2000: routing and deployment health.
    public const int FallingBack = 2000;
    public const int BreakerOpened = 2001;
    public const int StreamEndedByShutdown = 2002;
    public const int Routed = 2003;
    public const int HealthCheckFailed = 2010;

    // 3000: configuration reload.
    public const int ConfigurationReloaded = 3000;
    public const int ConfigurationRejected = 3001;
    // A deprecated setting in use (it still works; the warning names its new path), once at start.
    public const int ConfigurationDeprecated = 3010;

    // 3002-3009: the ledger and its journal. The dropped-entry event used 3001 too, the reload's; it took the free 3003.
    public const int LedgerRetry = 3002;
    public const int LedgerEntryDropped = 3003;
    public const int LedgerKeptInJournal = 3004;
    public const int LedgerJournalFailed = 3005;
    public const int LedgerReplayed = 3006;
    public const int LedgerStreamsInterrupted = 3007;
    public const int LedgerStoredLate = 3008;
    public const int LedgerFlushGaveUp = 3009;

    // 3020: retention of the ledger and the body log.
    public const int RetentionSwept = 3020;
    public const int RetentionFailed = 3021;

    // 3100: shutdown.
    public const int ShutdownDraining = 3100;
    public const int ShutdownDrainOver = 3101;

    // 4000: local models.
    public const int LocalModelLoaded = 4001;
    public const int LocalModelLoadFailed = 4002;
    public const int LocalTemplateUnusable = 4003;
    public const int LocalOverloaded = 4004;
    public const int LocalGenerationFailed = 4005;
    public const int LocalNative = 4006;
    public const int LocalEncoderLoaded = 4007;
    public const int LocalEmbeddingFailed = 4008;
    public const int LocalModelRetired = 4009;
    public const int LocalModelsFolderChanged = 4010;
    public const int LocalModelsFolderNotWatched = 4011;
    public const int LocalRescanFailed = 4012;

    // 4100: comparisons; 4200: shadow traffic; 4300: the body log.
    public const int CompareCompleted = 4100;
    public const int CompareFailed = 4101;
    public const int ShadowReplayFailed = 4200;
    public const int BodyLogWriteFailed = 4300;

    // 4400: shared state in Redis (budgets and limits).
    public const int SharedStateUnavailable = 4400;
    public const int SharedStateRestored = 4401;
    public const int SharedStateRebuilt = 4402;
    public const int SharedStateRebuildFailed = 4403;
    public const int SharedChangeReloadFailed = 4404;
    public const int SharedHealthFailed = 4405;
    public const int SharedCacheFailed = 4406;
    public const int SharedLimitsRebuilt = 4407;
    public const int SharedSemanticFeedFailed = 4408;
    /// <summary>The semantic index took the other instances' questions from the log in Redis (at start, after a reconnection).</summary>
    public const int SharedSemanticCaughtUp = 4409;

    // 4450: budget alerts.
    public const int BudgetAlertFired = 4450;
    public const int BudgetAlertDeliveryFailed = 4451;
    public const int BudgetAlertsFailed = 4452;
    /// <summary>One key's or team's budget could not be checked (logged when it starts failing); the others still are.</summary>
    public const int BudgetAlertScopeFailed = 4453;

    // 4500: guardrails.
    public const int GuardrailMatched = 4500;
    /// <summary>A guard model or topic list could not decide (error or timeout); the policy failed open or closed.</summary>
    public const int GuardrailCheckFailed = 4510;

    // 4600: gradual rollouts of aliases.
    public const int RolloutDecided = 4600;
    public const int RolloutCheckFailed = 4601;
}
