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
using Sanjia.Core.Pricing;

namespace Sanjia.Api;

/// <summary>The HTTP surface: middleware order and routes, in one readable place.</summary>
public static class SanjiaApi
{
    /// <summary>Outermost first: error handling and request id, then authentication, then routing.</summary>
    public static WebApplication UseSanjiaApi(this WebApplication app)
    {
        app.UseMiddleware<GatewayErrorHandling>();
        app.UseMiddleware<ApiKeyAuthentication>();
        app.UseRouting();
        return app;
    }

    public static IEndpointRouteBuilder MapSanjiaApi(this IEndpointRouteBuilder routes)
    {
        var services = routes.ServiceProvider;
        var engine = services.GetRequiredService<GatewayEngine>();
        var options = services.GetRequiredService<SanjiaOptions>();
        var chat = new ChatCompletionsEndpoint(engine, options.MaxRequestBodyBytes);
        var embeddings = new EmbeddingsEndpoint(engine, options.MaxRequestBodyBytes);
        // One per gateway: vendors' model lists are cached here for promotion, comparisons and GET /v1/models/{id}.
        var availability = new ModelAvailability(() => engine.Registry, engine.Time);
        var models = new ModelsEndpoints(engine, services.GetRequiredService<VirtualKeyCache>(), services.GetService<Pricer>(), availability);
        var messages = new MessagesEndpoint(engine, options.MaxRequestBodyBytes);
        var responses = new ResponsesEndpoint(engine, options.MaxRequestBodyBytes);
        var health = new HealthEndpoints(services.GetRequiredService<IHostApplicationLifetime>());

        routes.MapPost(ChatCompletionsEndpoint.Route, chat.HandleAsync);
        routes.MapPost(EmbeddingsEndpoint.Route, embeddings.HandleAsync);
        routes.MapPost(MessagesEndpoint.Route, messages.HandleAsync);
        routes.MapPost(MessagesEndpoint.CountTokensRoute, messages.CountTokensAsync);
        routes.MapPost(ResponsesEndpoint.Route, responses.HandleAsync);
        routes.MapGet("/v1/models", models.ListAsync);
        routes.MapGet("/v1/models/{**id}", models.GetAsync);
        routes.MapGet(DeploymentsEndpoint.Route, new DeploymentsEndpoint(engine, services.GetRequiredService<DeploymentStateStore>()).HandleAsync);
        if (services.GetService<Abstractions.IKeyStore>() is not null)
        {
            AdminEndpoints.Map(routes);
        }
        MapPromptsAndMigration(routes, services, engine, options, availability);
        routes.MapGet(RootEndpoint.Route, new RootEndpoint(services.GetService<GatewayInfo>() ?? new GatewayInfo("unknown")).HandleAsync);
        routes.MapGet("/health/live", HealthEndpoints.LiveAsync);
        routes.MapGet("/health/ready", health.ReadyAsync);
        routes.MapFallback(http => ErrorWriter.WriteAsync(http, new GatewayError(GatewayErrorKind.ModelNotFound,
            $"Unknown route: {http.Request.Method} {http.Request.Path}.") { Code = "unknown_route" }));
        return routes;
    }

    /// <summary>The prompt library, its completions route, alias promotion and admin comparisons (docs/compare.md).</summary>
    private static void MapPromptsAndMigration(IEndpointRouteBuilder routes, IServiceProvider services, GatewayEngine engine, SanjiaOptions options, ModelAvailability availability)
    {
        var store = services.GetRequiredService<IPromptStore>();
        var time = services.GetRequiredService<TimeProvider>();
        var prompts = new PromptAdminEndpoints(store, time, options.MaxRequestBodyBytes);
        routes.MapPost(PromptAdminEndpoints.Route, prompts.CreateAsync);
        routes.MapGet(PromptAdminEndpoints.Route, prompts.ListAsync);
        routes.MapGet(PromptAdminEndpoints.Route + "/{id}", prompts.GetAsync);
        routes.MapPost(PromptAdminEndpoints.Route + "/{id}/versions", prompts.AddVersionAsync);
        routes.MapGet(PromptAdminEndpoints.Route + "/{id}/versions/{version}", prompts.GetVersionAsync);
        routes.MapPost(PromptAdminEndpoints.Route + "/{id}/versions/{version}/variants", prompts.AddVariantAsync);
        routes.MapPost(PromptCompletionsEndpoint.Route, new PromptCompletionsEndpoint(engine, store, options.MaxRequestBodyBytes).HandleAsync);
        var aliases = new AliasesEndpoints(engine, services.GetRequiredService<AliasOverrides>(), services.GetRequiredService<IRegistryReloader>(), time, options.MaxRequestBodyBytes) { Availability = availability };
        routes.MapGet(AliasesEndpoints.Route, aliases.ListAsync);
        routes.MapPost(AliasesEndpoints.Route + "/{alias}/promote", aliases.PromoteAsync);
        routes.MapDelete(AliasesEndpoints.Route + "/{alias}/promote", aliases.RevertAsync);
        var compare = new CompareAdminEndpoints(services.GetRequiredService<CompareJobs>(), engine, store, services.GetServices<ISuiteSource>(), options.MaxRequestBodyBytes) { Availability = availability };
        routes.MapPost(CompareAdminEndpoints.Route, compare.StartAsync);
        routes.MapGet(CompareAdminEndpoints.Route + "/{id}", compare.GetAsync);
        routes.MapGet(CompareAdminEndpoints.Route + "/{id}/report.html", compare.ReportHtmlAsync);
        var shadow = new ShadowAdminEndpoints(services.GetRequiredService<ShadowTap>(), services.GetRequiredService<IShadowStore>(), time);
        routes.MapGet(ShadowAdminEndpoints.Route + "/{alias}", shadow.GetAsync);
        routes.MapGet(ShadowAdminEndpoints.Route + "/{alias}/report.html", shadow.ReportHtmlAsync);
    }
}
