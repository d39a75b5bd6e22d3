using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;

namespace Sanjia.Providers.Local.Tests;

/// <summary>The models folder's watcher asks for a registry rebuild when a GGUF comes or goes, and not for a download in progress.</summary>
public sealed class LocalModelsWatcherTests : IDisposable
{
    /// <summary>Debounce and polling are under 3 s; this is the bound for a noisy 2-core machine.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-watch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class CountingReloader : IRegistryReloader
    {
        private int _reloads;

        public int Reloads => Volatile.Read(ref _reloads);

        public Task<IReadOnlyList<string>> ReloadAsync()
        {
            Interlocked.Increment(ref _reloads);
            return Task.FromResult<IReadOnlyList<string>>([]);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // polling, as when the user's inotify instances are used up
    public async Task Adding_and_removing_a_gguf_in_a_subfolder_rebuilds_the_registry_and_a_part_file_does_not(bool watch)
    {
        var reloader = new CountingReloader();
        using var services = new ServiceCollection().AddSingleton<IRegistryReloader>(reloader).BuildServiceProvider();
        using var watcher = new LocalModelsWatcher(new SanjiaOptions { ModelsDir = _dir }, services, NullLogger<LocalModelsWatcher>.Instance) { UseWatcher = watch };
        await watcher.StartAsync(CancellationToken.None);
        var sub = Directory.CreateDirectory(Path.Combine(_dir, "sub")).FullName;
        await Task.Delay(LocalModelsWatcher.PollInterval + LocalModelsWatcher.Debounce); // the folder event settles first
        var before = reloader.Reloads;

        await File.WriteAllBytesAsync(Path.Combine(sub, "tiny.gguf.part"), new byte[100]);
        await Task.Delay(LocalModelsWatcher.PollInterval + LocalModelsWatcher.Debounce * 2);
        Assert.Equal(before, reloader.Reloads);

        File.Move(Path.Combine(sub, "tiny.gguf.part"), Path.Combine(sub, "tiny.gguf"));
        await WaitAsync(() => reloader.Reloads > before);
        var afterAdd = reloader.Reloads;

        File.Delete(Path.Combine(sub, "tiny.gguf"));
        await WaitAsync(() => reloader.Reloads > afterAdd);
        await watcher.StopAsync(CancellationToken.None);
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "no rebuild within the bound");
            await Task.Delay(50);
        }
    }
}
