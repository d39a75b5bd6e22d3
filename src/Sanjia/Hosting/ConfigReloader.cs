using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Routing;
using Sanjia.Core.Routing.Health;
using Sanjia.Abstractions;

namespace Sanjia.Hosting;

/// <summary>
/// Hot reload of providers, aliases and routing: watches <c>sanjia.json</c> and the <c>--config</c> file; on a change
/// it reads the configuration afresh (same sources and precedence as at start-up), validates it, builds a new
/// snapshot with the builder start-up used (<see cref="GatewaySnapshotBuilder"/>: unchanged providers are kept) and
/// swaps it in with one write. Requests in flight finish on the snapshot they captured, and its replaced providers
/// are disposed after them; deployment health is kept for deployments that stay. An invalid file is rejected with the exact path of every error and the
/// running configuration stays. Settings outside providers, models and routing (URLs, data folder, keys) need a restart.
/// </summary>
public sealed partial class ConfigReloader(
    Func<IConfiguration> readConfiguration,
    IReadOnlyList<string> watchedFiles,
    GatewaySnapshotBuilder snapshots,
    GatewayEngine engine,
    DeploymentStateStore states,
    ILogger<ConfigReloader> logger) : IHostedService, IRegistryReloader, IDisposable
{
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Timer? _debounce;

    /// <summary>Raised after every reload attempt with the errors (empty when the new configuration is in force).</summary>
    public event Action<IReadOnlyList<string>>? Reloaded;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _debounce = new Timer(_ => _ = ReloadAsync(), null, Timeout.Infinite, Timeout.Infinite);
        foreach (var file in watchedFiles)
        {
            var dir = Path.GetDirectoryName(file);
            if (dir is null || !Directory.Exists(dir)) continue;
            var watcher = new FileSystemWatcher(dir, Path.GetFileName(file))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.FileName | NotifyFilters.CreationTime,
            };
            watcher.Changed += OnChanged;
            watcher.Created += OnChanged;
            watcher.Renamed += OnChanged;
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
        return Task.CompletedTask;
    }

    // Editors write a file in several steps: wait for them to settle.
    private void OnChanged(object sender, FileSystemEventArgs e) => _debounce?.Change(300, Timeout.Infinite);

    /// <summary>Reads, validates and swaps in the configuration now. Returns the errors (empty on success).</summary>
    public async Task<IReadOnlyList<string>> ReloadAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var errors = Reload();
            if (errors.Count > 0)
            {
                foreach (var e in errors) LogRejected(logger, e);
            }
            else
            {
                LogReloaded(logger);
            }
            Reloaded?.Invoke(errors);
            return errors;
        }
        finally
        {
            _gate.Release();
        }
    }

    private List<string> Reload()
    {
        var errors = new ConfigErrors();
        SanjiaOptions? options;
        try
        {
            // Unknown keys and values of the wrong type are refused with their path, as at start-up.
            options = ConfigShape.Bind(readConfiguration(), errors);
        }
        catch (Exception ex) when (ex is InvalidOperationException or InvalidDataException or FormatException or IOException)
        {
            // A JSON error names the file and line.
            return [ex.InnerException is { } inner ? $"{ex.Message} {inner.Message}" : ex.Message];
        }
        if (options is null) return [.. errors.Errors];
        OptionsValidator.Validate(options, errors);
        if (errors.Any) return [.. errors.Errors];
        var snapshot = snapshots.Build(options, errors);
        if (snapshot is null) return [.. errors.Errors];
        engine.Swap(snapshot);
        states.Retain(snapshot.Registry.Aliases.SelectMany(a => a.Deployments).Select(d => d.Id));
        return [];
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var w in _watchers) w.EnableRaisingEvents = false;
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        foreach (var w in _watchers) w.Dispose();
        _debounce?.Dispose();
        _gate.Dispose();
    }

    [LoggerMessage(EventId = LogEvents.ConfigurationReloaded, Level = LogLevel.Information, Message = "Configuration reloaded: providers, models and routing are in force")]
    private static partial void LogReloaded(ILogger logger);

    [LoggerMessage(EventId = LogEvents.ConfigurationRejected, Level = LogLevel.Error, Message = "Configuration change rejected, the running configuration stays: {Error}")]
    private static partial void LogRejected(ILogger logger, string error);
}
