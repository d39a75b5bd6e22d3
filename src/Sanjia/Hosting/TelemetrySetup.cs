using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Budgets;
using Sanjia.Core.Configuration;
using Sanjia.Core.Keys;
using Sanjia.Core.Metering;
using Sanjia.Core.Routing.Health;
using Sanjia.Core.Telemetry;

namespace Sanjia.Hosting;

/// <summary>
/// Logs, metrics and traces (docs/observability.md): the console logger (simple by default, JSON with
/// <c>Logging:Console:FormatterName=json</c>, timestamps with date and zone either way), the OpenTelemetry SDK with
/// the Prometheus exporter behind <c>/metrics</c>, and OTLP export of traces and metrics configured by the standard
/// <c>OTEL_*</c> variables. The gateway records through <see cref="GatewayTelemetry"/>; this only attaches listeners.
/// </summary>
internal static class TelemetrySetup
{
    /// <summary>ISO 8601 with milliseconds and the UTC offset: a line read next week still says when, and where.</summary>
    public const string TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffzzz";

    public static void Validate(SanjiaOptions options, ConfigErrors errors) => MetricsAccess.Validate(options.Metrics, errors);

    public static void AddLogging(WebApplicationBuilder builder)
    {
        var console = builder.Configuration.GetSection("Logging:Console");
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole();
        // Read here from Logging:Console, then the gateway's defaults where it leaves a setting unset (the slim
        // builder does not bind the console provider's section by itself).
        var formatter = console["FormatterName"];
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.FormatterName = string.IsNullOrEmpty(formatter) ? ConsoleFormatterNames.Simple : formatter);
        var formatterOptions = console.GetSection("FormatterOptions");
        builder.Services.Configure<SimpleConsoleFormatterOptions>(o =>
        {
            formatterOptions.Bind(o);
            if (formatterOptions["SingleLine"] is null) o.SingleLine = true;
            if (formatterOptions["TimestampFormat"] is null) o.TimestampFormat = TimestampFormat + " ";
        });
        builder.Services.Configure<JsonConsoleFormatterOptions>(o =>
        {
            formatterOptions.Bind(o);
            if (formatterOptions["TimestampFormat"] is null) o.TimestampFormat = TimestampFormat;
            if (formatterOptions["UseUtcTimestamp"] is null) o.UseUtcTimestamp = true;
        });
    }

    public static void AddTelemetry(WebApplicationBuilder builder, SanjiaOptions options)
    {
        var configuration = builder.Configuration;
        var services = builder.Services;
        services.AddSingleton(new TelemetrySettings(options.Telemetry.CaptureContent, options.Metrics.MaxKeyLabels));
        services.AddSingleton(sp => new AccessLog(sp.GetRequiredService<ILoggerFactory>().CreateLogger(AccessLog.Category), AccessLogOnConsole(sp)));
        if (IsTrue(configuration["OTEL_SDK_DISABLED"]))
        {
            return;
        }
        var traces = options.Telemetry.Traces && HasOtlpEndpoint(configuration, "TRACES") && !IsNone(configuration["OTEL_TRACES_EXPORTER"]);
        var otlpMetrics = HasOtlpEndpoint(configuration, "METRICS") && !IsNone(configuration["OTEL_METRICS_EXPORTER"]);
        if (!traces && !options.Metrics.Enabled && !otlpMetrics)
        {
            return;
        }
        var otel = services.AddOpenTelemetry();
        if (string.IsNullOrEmpty(configuration["OTEL_SERVICE_NAME"]))
        {
            otel.ConfigureResource(r => r.AddService("sanjia", serviceVersion: Cli.SanjiaCli.Version));
        }
        if (options.Metrics.Enabled || otlpMetrics)
        {
            if (options.Metrics.Enabled)
            {
                services.AddSingleton(new MetricsAccess(options.Metrics));
            }
            otel.WithMetrics(m =>
            {
                m.AddMeter(GatewayTelemetry.Name);
                // Each scrape reads the counters afresh; a Prometheus server scrapes every 15 s or more.
                if (options.Metrics.Enabled) m.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
                if (otlpMetrics) m.AddOtlpExporter();
            });
        }
        if (traces)
        {
            // The server span of each request is ASP.NET Core's own (source Microsoft.AspNetCore, joined to the caller's
            // W3C trace context); UseServerSpans adds the HTTP attributes and metering the GenAI ones. Neither the contrib
            // instrumentation (a second DiagnosticListener pass, a second context extraction and its own tags: about
            // 1.5 µs per request) nor ASP.NET Core 10's own attributes (its SuppressActivityOpenTelemetryData switch,
            // left on: it builds a tag list for the sampler, escapes the path and parses the host per request).
            services.AddSingleton<TracesOn>();
            otel.WithTracing(t => t
                .AddSource(AspNetCoreSource, GatewayTelemetry.Name)
                .AddOtlpExporter());
        }
    }

    private const string AspNetCoreSource = "Microsoft.AspNetCore";

    /// <summary>Registered when traces are exported: <see cref="UseServerSpans"/> then completes the server spans.</summary>
    private sealed class TracesOn;

    /// <summary>
    /// The HTTP server span's attributes on ASP.NET Core's span, as the HTTP span conventions have them:
    /// <c>http.request.method</c>, <c>url.scheme</c>, <c>url.path</c>, then <c>http.response.status_code</c>,
    /// <c>http.route</c>, the span's name (<c>{method} {route}</c>) and, for 5xx, <c>error.type</c> and an error
    /// status (<c>server.address</c> and <c>server.port</c>, only recommended, are left out: the resource names the
    /// service). Probes and scrapes are not traffic: their spans are marked not recorded as they start, so the exporter
    /// (which exports recorded spans only) skips them. Added only when traces are exported.
    /// </summary>
    public static void UseServerSpans(WebApplication app)
    {
        if (app.Services.GetService<TracesOn>() is null) return;
        var names = new ConcurrentDictionary<(Endpoint, string), string>();
        app.Use(async (http, next) =>
        {
            var span = Activity.Current is { Source.Name: AspNetCoreSource, IsAllDataRequested: true } current ? current : null;
            if (span is not null)
            {
                var request = http.Request;
                if (IsProbe(request.Path))
                {
                    span.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
                    span.IsAllDataRequested = false;
                    span = null;
                }
                else
                {
                    span.AddTag("http.request.method", request.Method);
                    span.AddTag("url.scheme", request.Scheme);
                    span.AddTag("url.path", request.Path.Value);
                }
            }
            await next(http).ConfigureAwait(false);
            if (span is null) return;
            var status = http.Response.StatusCode;
            span.AddTag("http.response.status_code", GatewayTelemetry.Boxed(status));
            if (http.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } route } endpoint)
            {
                span.AddTag("http.route", route);
                span.DisplayName = names.GetOrAdd((endpoint, http.Request.Method), static (k, route) => k.Item2 + " " + route, route);
            }
            if (status >= 500)
            {
                // Metering may have named the failure already (e.g. upstream_error); else the status, as the conventions say.
                if (span.GetTagItem("error.type") is null) span.AddTag("error.type", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                span.SetStatus(ActivityStatusCode.Error);
            }
        });
    }

    /// <summary>
    /// The access log's own writer to the console, in the layout the console logger is set up with (read at start), or
    /// null where the writer would not look like the console logger's lines (scopes, indented JSON, multi-line, a
    /// formatter of its own): those lines go through the logger.
    /// </summary>
    private static AccessLogWriter? AccessLogOnConsole(IServiceProvider sp)
    {
        var console = sp.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue;
        var (layout, format) = console.FormatterName switch
        {
            ConsoleFormatterNames.Simple when sp.GetRequiredService<IOptionsMonitor<SimpleConsoleFormatterOptions>>().CurrentValue is { SingleLine: true, IncludeScopes: false } o
                => (AccessLogLayout.Simple, (ConsoleFormatterOptions?)o),
            ConsoleFormatterNames.Json when sp.GetRequiredService<IOptionsMonitor<JsonConsoleFormatterOptions>>().CurrentValue is { IncludeScopes: false, JsonWriterOptions.Indented: false } o
                => (AccessLogLayout.Json, o),
            ConsoleFormatterNames.Systemd when sp.GetRequiredService<IOptionsMonitor<ConsoleFormatterOptions>>().CurrentValue is { IncludeScopes: false } o
                => (AccessLogLayout.Systemd, o),
            _ => (AccessLogLayout.Simple, null),
        };
        if (format is null) return null;
        // The console logger writes Information to standard error only when told to; the writer follows it and shares
        // the lock of the TextWriter the console logger writes through (its writes lock on it).
        var toError = console.LogToStandardErrorThreshold <= LogLevel.Information;
        return new AccessLogWriter(toError ? Console.OpenStandardError() : Console.OpenStandardOutput(), layout, format.TimestampFormat, format.UseUtcTimestamp,
            sp.GetService<TimeProvider>(), toError ? Console.Error : Console.Out, sp.GetRequiredService<ILoggerFactory>().CreateLogger(AccessLog.Category));
    }

    /// <summary>Reports the gateway's deployment health, journal backlog and budgets until it stops.</summary>
    public static void Observe(WebApplication app)
    {
        var deployments = GatewayTelemetry.Observe(app.Services.GetRequiredService<DeploymentStateStore>());
        var journal = app.Services.GetService<JournaledLedger>() is { } ledger ? GatewayTelemetry.ObserveJournal(() => ledger.Pending) : null;
        var budgets = app.Services.GetService<IBudgetTracker>() is { } tracker
            ? GatewayTelemetry.ObserveBudgets(new BudgetGauges(app.Services.GetRequiredService<VirtualKeyCache>(), tracker,
                app.Services.GetRequiredService<SanjiaOptions>().Metrics.MaxKeyLabels))
            : null;
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            deployments.Dispose();
            journal?.Dispose();
            budgets?.Dispose();
        });
    }

    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/health", StringComparison.Ordinal) || path.StartsWithSegments(MetricsAccess.Route, StringComparison.Ordinal);

    /// <summary>An OTLP endpoint for this signal, by the standard variables (the generic one or the signal's own).</summary>
    private static bool HasOtlpEndpoint(IConfiguration configuration, string signal) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) || !string.IsNullOrWhiteSpace(configuration[$"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"]);

    private static bool IsTrue(string? value) => string.Equals(value?.Trim(), "true", StringComparison.OrdinalIgnoreCase);

    private static bool IsNone(string? value) => string.Equals(value?.Trim(), "none", StringComparison.OrdinalIgnoreCase);
}
