using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;

namespace Sanjia.Providers.Local;

/// <summary>
/// Watches <see cref="SanjiaOptions.ModelsDir"/> and its subfolders, and rebuilds the registry (the same reload a
/// configuration change does, <see cref="IRegistryReloader"/>) when a GGUF file appears, disappears or is renamed,
/// so <c>/v1/models</c> follows the folder without a restart. Events are debounced: a copy writes a file in many
/// steps, and the rescan runs <see cref="Debounce"/> after the last of them. <c>.part</c> files (downloads in
/// progress) are ignored; their final rename is what counts. Where no watcher can be had (inotify instances are a
/// per-user limit, 128 by default on Linux), the folder is polled every <see cref="PollInterval"/> instead.
/// </summary>
public sealed class LocalModelsWatcher(SanjiaOptions options, IServiceProvider services, ILogger<LocalModelsWatcher> logger) : IHostedService, IDisposable
{
    /// <summary>Quiet time after the last change before the folder is rescanned.</summary>
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(750);

    /// <summary>How often the folder is compared with its last listing when it cannot be watched.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    /// <summary>False skips the watcher and polls, as when none can be had (for tests of that path).</summary>
    internal bool UseWatcher { get; init; } = true;

    private Timer? _poll;
    private string _lastListing = "";

    private FileSystemWatcher? _watcher;
    private Timer? _debounce;
    private string _directory = "";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(options.ModelsDir))
        {
            return Task.CompletedTask;
        }
        _directory = Path.GetFullPath(options.ModelsDir);
        try
        {
            _debounce = new Timer(_ => _ = RescanAsync(), null, Timeout.Infinite, Timeout.Infinite);
            // Created when missing, so a first `sanjia models pull` while the gateway runs is seen too.
            Directory.CreateDirectory(_directory);
            if (!UseWatcher)
            {
                throw new IOException("watching is off");
            }
            _watcher = new FileSystemWatcher(_directory)
            {
                IncludeSubdirectories = true,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.Size | NotifyFilters.LastWrite,
            };
            _watcher.Created += OnChanged;
            _watcher.Deleted += OnChanged;
            _watcher.Changed += OnChanged;
            _watcher.Renamed += OnChanged;
            // A lost event (overflowing buffer) may hide any change: rescan.
            _watcher.Error += (_, _) => Schedule();
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            Log.ModelsFolderNotWatched(logger, _directory, ex.Message);
            _watcher?.Dispose();
            _watcher = null;
            if (Directory.Exists(_directory))
            {
                _lastListing = Listing();
                _poll = new Timer(_ => Poll(), null, PollInterval, PollInterval);
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>The served files as they stand (path, size, time): a change in it is a change in what is served.</summary>
    private string Listing()
    {
        try
        {
            var scan = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, MatchCasing = MatchCasing.CaseInsensitive };
            return string.Join('\n', Directory.EnumerateFiles(_directory, "*.gguf", scan).Order(StringComparer.Ordinal)
                .Select(p => new FileInfo(p)).Select(f => $"{f.FullName}|{f.Length}|{f.LastWriteTimeUtc.Ticks}"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return _lastListing;
        }
    }

    private void Poll()
    {
        var listing = Listing();
        if (listing != _lastListing)
        {
            _lastListing = listing;
            Schedule();
        }
    }

    private void OnChanged(object sender, FileSystemEventArgs e)
    {
        // A download in progress changes nothing that is served; its rename to .gguf does (a Renamed event whose
        // new name is the model).
        if (IsPartial(e.FullPath) && (e is not RenamedEventArgs r || IsPartial(r.OldFullPath)))
        {
            return;
        }
        Schedule();
    }

    private static bool IsPartial(string path) => path.EndsWith(".part", StringComparison.OrdinalIgnoreCase);

    private void Schedule() => _debounce?.Change(Debounce, Timeout.InfiniteTimeSpan);

    private async Task RescanAsync()
    {
        // Resolved late: the reloader depends on every provider source, this one's included.
        if (services.GetService<IRegistryReloader>() is not { } reloader)
        {
            return;
        }
        Log.ModelsFolderChanged(logger, _directory);
        try
        {
            await reloader.ReloadAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A file vanished between listing and reading; the next event rescans.
            Log.RescanFailed(logger, _directory, ex.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_watcher is not null)
        {
            _watcher.EnableRaisingEvents = false;
        }
        _debounce?.Change(Timeout.Infinite, Timeout.Infinite);
        _poll?.Change(Timeout.Infinite, Timeout.Infinite);
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _debounce?.Dispose();
        _poll?.Dispose();
    }
}
