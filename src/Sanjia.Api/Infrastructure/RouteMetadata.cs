using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Anthropic;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// Who may call a route: endpoint metadata set on the route groups in <see cref="SanjiaApi"/> and read by
/// <see cref="ApiKeyAuthentication"/>, which runs after routing. Every mapped route carries one (a test enumerates
/// them); a request that matched no endpoint needs a key.
/// </summary>
public sealed class RouteAccess
{
    /// <summary>No key: <c>/</c> and the health probes.</summary>
    public static readonly RouteAccess Anonymous = new(nameof(Anonymous));

    /// <summary>Any valid key: the model routes (<c>/v1</c>), subject to the key's policies.</summary>
    public static readonly RouteAccess Key = new(nameof(Key));

    /// <summary>
    /// The admin API: the master key, a key with the <c>admin</c> scope, or an <c>admin:read</c> key for GET
    /// (docs/decisions/0004-key-model.md).
    /// </summary>
    public static readonly RouteAccess Admin = new(nameof(Admin));

    /// <summary>
    /// <c>/metrics</c>: the master key or the metrics token (<c>Sanjia:Metrics:Token</c>), or no key from an allowed
    /// network (<c>Sanjia:Metrics:AllowedNetworks</c>); see <see cref="MetricsAccess"/>.
    /// </summary>
    public static readonly RouteAccess Metrics = new(nameof(Metrics));

    private RouteAccess(string name) => Name = name;

    public string Name { get; }

    /// <summary>The access the matched endpoint declares; <see cref="Key"/> when no endpoint matched.</summary>
    public static RouteAccess Of(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<RouteAccess>() ?? Key;

    public override string ToString() => Name;
}

/// <summary>
/// The wire shape of a route's errors: endpoint metadata (Anthropic's on the Messages group in
/// <see cref="SanjiaApi"/>), read by <see cref="ErrorWriter"/> for every error written outside an endpoint's own
/// flow (authentication, error handling, unknown routes) and by the endpoints themselves. OpenAI's shape when none.
/// </summary>
public sealed class ErrorDialect
{
    public static readonly ErrorDialect OpenAi = new(nameof(OpenAi), OpenAiErrorWriter.WriteAsync);
    public static readonly ErrorDialect Anthropic = new(nameof(Anthropic), AnthropicErrorWriter.WriteAsync);

    private readonly Func<HttpContext, GatewayError, Task> _write;

    private ErrorDialect(string name, Func<HttpContext, GatewayError, Task> write)
    {
        Name = name;
        _write = write;
    }

    public string Name { get; }

    public Task WriteAsync(HttpContext context, GatewayError error) => _write(context, error);

    /// <summary>The dialect the matched endpoint declares; OpenAI's when it declares none or no endpoint matched.</summary>
    public static ErrorDialect Of(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<ErrorDialect>() ?? OpenAi;

    public override string ToString() => Name;
}
