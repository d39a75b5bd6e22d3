using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;

namespace Sanjia.Providers.Local;

/// <summary>
/// Builds the <c>local</c> provider from configuration: every <c>*.gguf</c> in <see cref="SanjiaOptions.ModelsDir"/>
/// and its subfolders plus every <see cref="SanjiaOptions.ModelFiles"/> entry, served as <c>local/&lt;file name&gt;</c>,
/// and the MiniLM embedding model when <see cref="LocalOptions.Embeddings"/> is on. Nothing is loaded here: weights
/// load on the first request and are kept across configuration reloads, so rebuilding providers does not load a file
/// twice. Weights of a file that is gone (or was replaced) at a rebuild are retired: freed once their last
/// generation ends. <see cref="LocalModelsWatcher"/> triggers the rebuild when the folder changes.
/// </summary>
public sealed class LocalProviderSource : IProviderSource, IDisposable
{
    public const string ProviderName = "local";

    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, ModelWeights> _weights = new(StringComparer.Ordinal);
    // Shared across reloads too: a rebuilt provider must not open a second set of slots next to the one in use.
    private readonly ConcurrentDictionary<(string Path, int MaxConcurrency, int MaxQueue), ConcurrencyLimiter> _limiters = new();
    private readonly Lazy<MiniLmEncoder> _encoder;

    public LocalProviderSource(ILoggerFactory loggerFactory) : this(loggerFactory, TimeProvider.System)
    {
    }

    public LocalProviderSource() : this(NullLoggerFactory.Instance, TimeProvider.System)
    {
    }

    internal LocalProviderSource(ILoggerFactory loggerFactory, TimeProvider time)
    {
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Sanjia.Providers.Local");
        _time = time;
        _encoder = new Lazy<MiniLmEncoder>(() => new MiniLmEncoder(_logger), LazyThreadSafetyMode.ExecutionAndPublication);
        NativeLogBridge.Install(loggerFactory);
    }

    public IEnumerable<IProvider> Create(SanjiaOptions options, ConfigErrors errors)
    {
        var files = FindModelFiles(options, errors);
        RetireGone(files);
        var embeddings = options.Local.Embeddings;
        if (files.Count == 0 && !embeddings)
        {
            return [];
        }

        var chat = files
            .Select(f => new LocalChatModel(
                f.Name,
                _weights.GetOrAdd(f.Path, p => new ModelWeights(p)),
                _limiters.GetOrAdd((f.Path, options.Local.MaxConcurrency, options.Local.MaxQueue), k => new ConcurrencyLimiter(k.MaxConcurrency, k.MaxQueue)),
                options.Local,
                _logger,
                _time))
            .ToList();
        var embeddingBackend = embeddings ? new LocalEmbeddingBackend(_encoder.Value, _logger) : null;
        return [new LocalProvider(Describe(options, files, embeddings), chat, embeddingBackend)];
    }

    /// <summary>Retires the weights of files no longer served, or replaced by another file under the same path.</summary>
    private void RetireGone(List<(string Name, string Path)> files)
    {
        var served = files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        foreach (var (path, weights) in _weights)
        {
            if (served.Contains(path) && weights.Identity == ModelWeights.IdentityOf(path))
            {
                continue;
            }
            if (_weights.TryRemove(new KeyValuePair<string, ModelWeights>(path, weights)))
            {
                Log.ModelRetired(_logger, path);
                weights.Retire();
            }
        }
    }

    private static List<(string Name, string Path)> FindModelFiles(SanjiaOptions options, ConfigErrors errors)
    {
        var found = new List<(string Name, string Path)>();
        var byName = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        void Add(string path, string configPath)
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (string.Equals(name, MiniLmEncoder.ModelName, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add(configPath, $"'{path}' would be served as 'local/{name}', the name of the built-in embedding model; rename the file.");
                return;
            }
            if (byName.TryGetValue(name, out var other))
            {
                if (!string.Equals(other, path, StringComparison.Ordinal))
                {
                    errors.Add(configPath, $"'{path}' and '{other}' would both be served as 'local/{name}'; rename one of them.");
                }
                return;
            }
            byName[name] = path;
            found.Add((name, path));
        }

        if (!string.IsNullOrWhiteSpace(options.ModelsDir) && Directory.Exists(options.ModelsDir))
        {
            // Subfolders too (a pull or a copy may keep the repository's layout); '*.gguf' leaves out '.gguf.part'
            // downloads in progress. Ordinal order, so which of two same-named files is reported first is stable.
            var scan = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, MatchCasing = MatchCasing.CaseInsensitive };
            foreach (var file in Directory.EnumerateFiles(Path.GetFullPath(options.ModelsDir), "*.gguf", scan).Order(StringComparer.Ordinal))
            {
                Add(file, $"{SanjiaOptions.Section}:ModelsDir");
            }
        }
        for (var i = 0; i < options.ModelFiles.Count; i++)
        {
            var configPath = $"{SanjiaOptions.Section}:ModelFiles:{i}";
            var file = options.ModelFiles[i];
            if (string.IsNullOrWhiteSpace(file))
            {
                errors.Add(configPath, "must be the path of a .gguf file.");
                continue;
            }
            var full = Path.GetFullPath(file);
            if (!File.Exists(full))
            {
                errors.Add(configPath, $"the model file '{full}' does not exist.");
                continue;
            }
            Add(full, configPath);
        }
        return found;
    }

    private static string Describe(SanjiaOptions options, List<(string Name, string Path)> files, bool embeddings)
    {
        var parts = new List<string>();
        if (files.Count > 0)
        {
            var dir = string.IsNullOrWhiteSpace(options.ModelsDir) ? null : Path.GetFullPath(options.ModelsDir);
            var prefix = dir is null ? null : dir.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
            var inDir = prefix is null ? [] : files.Where(f => f.Path.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            var extra = files.Except(inDir).ToList();
            if (inDir.Count > 0)
            {
                parts.Add($"{string.Join(", ", inDir.Select(f => f.Name))} from {dir}");
            }
            if (extra.Count > 0)
            {
                parts.Add(string.Join(", ", extra.Select(f => $"{f.Name} ({f.Path})")));
            }
        }
        if (embeddings)
        {
            parts.Add($"{MiniLmEncoder.ModelName} embeddings (built in)");
        }
        return $"in-process llama.cpp: {string.Join("; ", parts)}";
    }

    public void Dispose()
    {
        foreach (var weights in _weights.Values)
        {
            weights.Dispose();
        }
        if (_encoder.IsValueCreated)
        {
            _encoder.Value.Dispose();
        }
    }
}
