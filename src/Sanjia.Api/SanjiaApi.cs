using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sanjia.Abstractions;
using Sanjia.Api.Admin;
using Sanjia.Api.Anthropic;
using Sanjia.Api.Health;
using Sanjia.Api.Infrastructure;
using Sanjia.Api.OpenAi;
using Sanjia.Api.Responses;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Keys;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Prompts;
using Sanjia.Api.Prompts;
using Sanjia.Api.Compare;
using Sanjia.Api.Shadow;
using Sanjia.Core.Shadow;
using Sanjia.Core.Routing.Health;
using Sanjia.Core.Security;
using Sanjia.Core.Pricing;

namespace Sanjia.Api;

/// <summary>The HTTP surface: middleware order and routes, in one readable place.</summary>
public static class SanjiaApi
{
    /// <summary>
    /// Outermost first: routing (so that what follows reads the matched route's metadata: <see cref="RouteAccess"/>,
    /// <see cref="ErrorDialect"/>), error handling and request id, then authentication; the endpoint runs last.
    /// </summary>
    public static WebApplication UseSanjiaApi(this WebApplication app)
    {
        app.UseRouting();
        app.UseMiddleware<GatewayErrorHandling>();
        app.UseMiddleware<ApiKeyAuthentication>();
        return app;
    }

    public static IEndpointRouteBuilder MapSanjiaApi(this IEndpointRouteBuilder routes)
    {
        var services = routes.ServiceProvider;
        var engine = services.GetRequiredService<GatewayEngine>();
        var options = services.GetRequiredService<SanjiaOptions>();
        var chat = new ChatCompletionsEndpoint(engine, options.MaxRequestBodyBytes);
        var embeddings = new EmbeddingsEndpoint(engine, options.MaxRequestBodyBytes);
        var images = new ImagesEndpoint(engine, options.MaxRequestBodyBytes);
        // One per gateway: vendors' model lists are cached here for promotion, comparisons and GET /v1/models/{id}.
        var availability = new ModelAvailability(() => engine.Registry, engine.Time);
        var models = new ModelsEndpoints(engine, services.GetRequiredService<VirtualKeyCache>(), services.GetService<Pricer>(), availability);
        var messages = new MessagesEndpoint(engine, options.MaxRequestBodyBytes);
        var responses = new ResponsesEndpoint(engine, options.MaxRequestBodyBytes);
        var health = new HealthEndpoints(services.GetRequiredService<IHostApplicationLifetime>(), [.. services.GetServices<DependencyProbe>()]);

        // Who may call a route and the shape of its errors are metadata on these groups, read after routing by
        // authentication and the error writer; every route belongs to exactly one access group.
        var anonymous = routes.MapGroup("").WithMetadata(RouteAccess.Anonymous);
        var keyed = routes.MapGroup("").WithMetadata(RouteAccess.Key);
        var anthropic = keyed.MapGroup("").WithMetadata(ErrorDialect.Anthropic);
        var admin = routes.MapGroup("").WithMetadata(RouteAccess.Admin);

        keyed.MapPost(ChatCompletionsEndpoint.Route, chat.HandleAsync);
        keyed.MapPost(EmbeddingsEndpoint.Route, embeddings.HandleAsync);
        keyed.MapPost(ImagesEndpoint.Route, images.HandleAsync);
        anthropic.MapPost(MessagesEndpoint.Route, messages.HandleAsync);
        anthropic.MapPost(MessagesEndpoint.CountTokensRoute, messages.CountTokensAsync);
        keyed.MapPost(ResponsesEndpoint.Route, responses.HandleAsync);
        keyed.MapGet("/v1/models", models.ListAsync);
        keyed.MapGet("/v1/models/{**id}", models.GetAsync);
        admin.MapGet(DeploymentsEndpoint.Route, new DeploymentsEndpoint(engine, services.GetRequiredService<DeploymentStateStore>()).HandleAsync);
        if (services.GetService<Abstractions.IKeyStore>() is not null)
        {
            AdminEndpoints.Map(admin);
            DataDeletionEndpoints.Map(admin);
        }
        ObservabilityRoutes.Map(admin);
        if (services.GetService<Console.ConsoleEndpoints>() is { } console) console.Map(anonymous);
        MapPromptsAndMigration(keyed, admin, services, engine, options, availability);
        anonymous.MapGet(RootEndpoint.Route, new RootEndpoint(services.GetService<GatewayInfo>() ?? new GatewayInfo("unknown")).HandleAsync);
        anonymous.MapGet("/health/live", HealthEndpoints.LiveAsync);
        anonymous.MapGet("/health/ready", health.ReadyAsync);
        if (services.GetService<MetricsAccess>() is not null)
        {
            // The OpenTelemetry SDK's Prometheus exporter (text format), behind its own access rule.
            routes.MapGroup("").WithMetadata(RouteAccess.Metrics).MapPrometheusScrapingEndpoint(MetricsAccess.Route);
        }
        // Unknown routes answer 404 in the dialect, and after the access check, of the area they fall in: an unknown
        // admin path refuses a model key as every admin route does.
        keyed.MapFallback("{**path}", UnknownRouteAsync);
        anthropic.MapFallback(MessagesEndpoint.Route + "/{**path}", UnknownRouteAsync);
        admin.MapFallback("/admin/{**path}", UnknownRouteAsync);
        return routes;
    }

    private static Task UnknownRouteAsync(HttpContext http) => ErrorWriter.WriteAsync(http, new GatewayError(GatewayErrorKind.ModelNotFound,
        $"Unknown route: {http.Request.Method} {http.Request.Path}.") { Code = "unknown_route" });

    /// <summary>The prompt library, its completions route, alias promotion and admin comparisons (docs/compare.md).</summary>
    private static void MapPromptsAndMigration(IEndpointRouteBuilder keyed, IEndpointRouteBuilder admin, IServiceProvider services, GatewayEngine engine, SanjiaOptions options, ModelAvailability availability)
    {
        var store = services.GetRequiredService<IPromptStore>();
        var time = services.GetRequiredService<TimeProvider>();
        var masterKey = services.GetRequiredService<MasterKey>();
        var virtualKeys = services.GetRequiredService<VirtualKeyCache>();
        var prompts = new PromptAdminEndpoints(store, time, options.MaxRequestBodyBytes);
        admin.MapPost(PromptAdminEndpoints.Route, prompts.CreateAsync);
        admin.MapGet(PromptAdminEndpoints.Route, prompts.ListAsync);
        admin.MapGet(PromptAdminEndpoints.Route + "/{id}", prompts.GetAsync);
        admin.MapPost(PromptAdminEndpoints.Route + "/{id}/versions", prompts.AddVersionAsync);
        admin.MapGet(PromptAdminEndpoints.Route + "/{id}/versions/{version}", prompts.GetVersionAsync);
        admin.MapPost(PromptAdminEndpoints.Route + "/{id}/versions/{version}/variants", prompts.AddVariantAsync);
        keyed.MapPost(PromptCompletionsEndpoint.Route, new PromptCompletionsEndpoint(engine, store, options.MaxRequestBodyBytes).HandleAsync);
        var aliases = new AliasesEndpoints(engine, services.GetRequiredService<AliasOverrides>(), services.GetRequiredService<IRegistryReloader>(), time, options.MaxRequestBodyBytes) { Availability = availability };
        admin.MapGet(AliasesEndpoints.Route, aliases.ListAsync);
        admin.MapPost(AliasesEndpoints.Route + "/{alias}/promote", aliases.PromoteAsync);
        admin.MapDelete(AliasesEndpoints.Route + "/{alias}/promote", aliases.RevertAsync);
        var rollouts = new RolloutEndpoints(aliases, services.GetRequiredService<AliasRollouts>(), services.GetRequiredService<Core.Rollouts.RolloutController>(), options.MaxRequestBodyBytes);
        admin.MapPost(RolloutEndpoints.Route, rollouts.StartAsync);
        admin.MapGet(RolloutEndpoints.Route, rollouts.GetAsync);
        admin.MapDelete(RolloutEndpoints.Route, rollouts.AbortAsync);
        var compare = new CompareAdminEndpoints(services.GetRequiredService<CompareJobs>(), engine, store, services.GetServices<ISuiteSource>(), options.MaxRequestBodyBytes)
        {
            Availability = availability,
            KeyAdmitted = key => ApiKeyAuthentication.Admits(key, masterKey, virtualKeys, time),
        };
        admin.MapPost(CompareAdminEndpoints.Route, compare.StartAsync);
        admin.MapGet(CompareAdminEndpoints.Route + "/{id}", compare.GetAsync);
        admin.MapGet(CompareAdminEndpoints.Route + "/{id}/report.html", compare.ReportHtmlAsync);
        var shadow = new ShadowAdminEndpoints(services.GetRequiredService<ShadowTap>(), services.GetRequiredService<IShadowStore>(), time);
        admin.MapGet(ShadowAdminEndpoints.Route + "/{alias}", shadow.GetAsync);
        admin.MapGet(ShadowAdminEndpoints.Route + "/{alias}/report.html", shadow.ReportHtmlAsync);
    }
}
