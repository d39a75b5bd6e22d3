namespace Sanjia.Core.Telemetry;

/// <summary>
/// The attribute names of the OpenTelemetry GenAI semantic conventions (docs/gen-ai in open-telemetry/semantic-conventions)
/// and the gateway's own <c>sanjia.*</c> ones, in one place (docs/observability.md lists them).
/// </summary>
public static class GenAi
{
    public const string OperationName = "gen_ai.operation.name";
    public const string ProviderName = "gen_ai.provider.name";
    public const string RequestModel = "gen_ai.request.model";
    public const string ResponseModel = "gen_ai.response.model";
    public const string RequestMaxTokens = "gen_ai.request.max_tokens";
    public const string RequestTemperature = "gen_ai.request.temperature";
    public const string RequestTopP = "gen_ai.request.top_p";
    public const string UsageInputTokens = "gen_ai.usage.input_tokens";
    public const string UsageOutputTokens = "gen_ai.usage.output_tokens";
    public const string ResponseFinishReasons = "gen_ai.response.finish_reasons";
    public const string TokenType = "gen_ai.token.type";
    /// <summary>Opt-in content (<c>Sanjia:Telemetry:CaptureContent</c>): the request's messages and the answer.</summary>
    public const string InputMessages = "gen_ai.input.messages";
    public const string OutputMessages = "gen_ai.output.messages";
    public const string ErrorType = "error.type";

    // Well-known values.
    public const string Chat = "chat";
    public const string Embeddings = "embeddings";
    /// <summary>
    /// Image generation: the conventions have no image operation; their "multimodal content generation" value is the
    /// well-known one that fits (a custom name would match no dashboard).
    /// </summary>
    public const string GenerateContent = "generate_content";
    public const string Input = "input";
    public const string Output = "output";

    // The gateway's own attributes.
    public const string Alias = "sanjia.alias";
    public const string Deployment = "sanjia.deployment";
    public const string Provider = "sanjia.provider";
    public const string Attempt = "sanjia.attempt";
    public const string Attempts = "sanjia.attempts";
    public const string Fallbacks = "sanjia.fallbacks";
    public const string FallbackReason = "sanjia.fallback_reason";
    public const string Route = "sanjia.route";
    public const string Cost = "sanjia.cost";
    public const string Currency = "sanjia.currency";
    public const string RequestId = "sanjia.request_id";
    public const string KeyId = "sanjia.key.id";
    public const string TeamId = "sanjia.team.id";
    public const string ErrorClass = "sanjia.error.class";
    public const string Status = "http.response.status_code";
    public const string Stream = "sanjia.stream";
    public const string Cache = "sanjia.cache";
    public const string Guardrail = "sanjia.guardrail";
    public const string TokenEstimated = "sanjia.usage.estimated";
    public const string BudgetScope = "sanjia.budget.scope";
    public const string BudgetId = "sanjia.budget.id";
    public const string BudgetPeriod = "sanjia.budget.period";
}
