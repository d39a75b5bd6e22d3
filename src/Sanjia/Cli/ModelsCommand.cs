using Sanjia.Abstractions;
using Sanjia.ModelDownloads;
using Spectre.Console;

namespace Sanjia.Cli;

/// <summary>What the command touches outside itself, so tests can run it in-process.</summary>
internal sealed record ModelsCommandEnvironment(IAnsiConsole Console, Func<string, string?> GetEnvironmentVariable)
{
    public ModelDownloaderOptions DownloaderOptions { get; init; } = new();

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>
/// <c>sanjia models pull|list|rm</c>: fetch GGUF files from a Hugging Face repository into the models folder, see what
/// is there and remove a model. A gateway serving that folder picks changes up while it runs.
/// </summary>
public static class ModelsCommand
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadUsage = 2;
    public const int Interrupted = 130;

    // Within 80 columns, so that no terminal wraps an option (SanjiaCliTests checks every command's help).
    private const string Usage = """
        Usage:
          sanjia models pull <repo>[:<quant>] [--name NAME] [--revision main]
                             [--dir models] [--sha256 HEX] [--endpoint URL]
          sanjia models pull <repo> <file> [--name NAME] [...same options]
          sanjia models list [--dir models]
          sanjia models rm <name> [--dir models]

          pull  Download a GGUF model from a Hugging Face repository into the
                models folder, where the gateway serves it as local/<name> (also
                while it runs). <repo>:<quant> picks the file whose name carries
                the quantisation tag (default Q4_K_M) and names the model
                <repo name without -GGUF>-<quant> in lower case; <repo> <file>
                takes that file and keeps its name. The download goes to
                <name>.gguf.part, is renamed when complete and checked against
                its SHA-256; run the same command again to resume it.
          list  Show the models in the models folder (subfolders included) with
                the names they are served under.
          rm    Delete local/<name> from the models folder; a running gateway
                stops serving it (requests in progress finish first).

        Options:
          --name      Serve the model as local/NAME instead of the derived name.
          --revision  Branch, tag or commit (default: main).
          --dir       Models folder (default: models).
          --sha256    Expected SHA-256 of the file (default: the one the hub
                      publishes for LFS files).
          --endpoint  Hub URL (default: $HF_ENDPOINT, else https://huggingface.co).

        Environment:
          HF_TOKEN     Access token, for private and gated repositories.
          HF_ENDPOINT  Hub URL, e.g. a mirror.

        Examples:
          sanjia models pull Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M
              (served as local/qwen2.5-0.5b-instruct-q4_k_m)
          sanjia models pull ggml-org/models tinyllamas/stories260K.gguf
              (served as local/stories260K)
          sanjia models rm qwen2.5-0.5b-instruct-q4_k_m
        """;

    public static Task<int> RunAsync(string[] args, CancellationToken ct) =>
        RunAsync(args, new ModelsCommandEnvironment(AnsiConsole.Console, Environment.GetEnvironmentVariable), ct);

    internal static async Task<int> RunAsync(string[] args, ModelsCommandEnvironment env, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(args);
        var console = env.Console;
        if (args.Any(a => a is "--help" or "-h" or "help"))
        {
            console.WriteLine(Usage);
            return Ok;
        }

        if (args.Length == 0)
        {
            return UsageError(console, "missing subcommand: pull, list or rm.");
        }

        switch (args[0])
        {
            case "pull":
                if (!TryParse(args.AsSpan(1), ["--revision", "--dir", "--sha256", "--endpoint", "--name"], 1, 2, out var pullArgs, out var pullError))
                {
                    return UsageError(console, pullError);
                }

                return await PullAsync(pullArgs, env, ct).ConfigureAwait(false);
            case "list":
                if (!TryParse(args.AsSpan(1), ["--dir"], 0, 0, out var listArgs, out var listError))
                {
                    return UsageError(console, listError);
                }

                return List(listArgs.Option("--dir") ?? "models", console);
            case "rm":
                if (!TryParse(args.AsSpan(1), ["--dir"], 1, 1, out var rmArgs, out var rmError))
                {
                    return UsageError(console, rmError);
                }

                return Remove(rmArgs.Positional[0], rmArgs.Option("--dir") ?? "models", console);
            default:
                return UsageError(console, $"unknown subcommand '{args[0]}'; expected pull, list or rm.");
        }
    }

    private static async Task<int> PullAsync(ParsedArgs args, ModelsCommandEnvironment env, CancellationToken ct)
    {
        var console = env.Console;
        var endpoint = args.Option("--endpoint") ?? NonEmpty(env.GetEnvironmentVariable("HF_ENDPOINT")) ?? HubFileRequest.DefaultEndpoint;
        var single = args.Positional.Count == 1;
        var (repo, tag) = single ? SplitTag(args.Positional[0]) : (args.Positional[0], null);
        var request = new HubFileRequest(repo, single ? "model.gguf" : args.Positional[1])
        {
            Revision = args.Option("--revision") ?? "main",
            ModelsDirectory = args.Option("--dir") ?? "models",
            Endpoint = endpoint,
            Sha256 = args.Option("--sha256"),
            Token = NonEmpty(env.GetEnvironmentVariable("HF_TOKEN")),
            LocalName = args.Option("--name"),
        };
        if (tag is "")
        {
            return UsageError(console, $"'{args.Positional[0]}' has an empty quantisation tag; write <repo>:<quant>, e.g. {repo}:Q4_K_M.");
        }

        if (request.Validate() is { } invalid)
        {
            return UsageError(console, invalid.Message);
        }

        using var downloader = new ModelDownloader(env.DownloaderOptions);
        if (single)
        {
            console.MarkupLineInterpolated($"Looking up the {tag ?? QuantSelector.DefaultTag} file in {repo} ({request.Revision})");
            IReadOnlyList<HubRepoFile> files;
            GatewayError? listError;
            try
            {
                (files, listError) = await downloader.ListFilesAsync(request, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return Interrupted;
            }

            if (listError is not null)
            {
                console.MarkupLineInterpolated($"[red]error:[/] {listError.Message}");
                return Failed;
            }

            var (file, resolvedTag, selectError) = QuantSelector.Select(repo, tag, files);
            if (selectError is not null)
            {
                console.MarkupLineInterpolated($"[red]error:[/] {selectError.Message}");
                return Failed;
            }

            request = request with
            {
                File = file!.Path,
                LocalName = request.LocalName ?? (resolvedTag is null ? LocalModelName.ForFile(file.Path) : LocalModelName.ForQuant(repo, resolvedTag)),
            };
        }

        // The gateway serves every GGUF under the folder by file name: a file elsewhere in it with this name would clash.
        var name = Path.GetFileNameWithoutExtension(request.DestinationPath);
        var target = Path.GetFullPath(request.DestinationPath);
        if (LocalModelName.FilesNamed(request.ModelsDirectory, name).FirstOrDefault(p => Path.GetFullPath(p) != target) is { } clash)
        {
            console.MarkupLineInterpolated(
                $"[red]error:[/] {clash} is already served as 'local/{name}'; two files cannot share a name. Pull with --name to choose another, or remove it first with 'sanjia models rm {name}'.");
            return Failed;
        }

        console.MarkupLineInterpolated($"Pulling [bold]{request.File}[/] from {request.Repo} ({request.Revision}) into {request.DestinationPath}");

        DownloadResult result;
        try
        {
            result = await DownloadWithProgressAsync(downloader, request, env, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            console.MarkupLineInterpolated(
                $"[yellow]Interrupted.[/] The partial download is kept in {request.PartPath}; run the same command again to resume.");
            return Interrupted;
        }

        if (result.Error is { } error)
        {
            console.MarkupLineInterpolated($"[red]error:[/] {error.Message}");
            return Failed;
        }

        var path = result.FilePath!;
        var check = result.VerifiedSha256 is { } sha
            ? $"SHA-256 {sha} verified"
            : "not verified: the hub published no SHA-256 for it; pass --sha256 to check it";
        var size = ByteSize.Format(result.Length);
        if (result.AlreadyPresent)
        {
            console.MarkupLineInterpolated($"[green]Already downloaded:[/] {path} ({size}, {check})");
        }
        else
        {
            console.MarkupLineInterpolated($"[green]Saved[/] {path} ({size}, {check})");
        }

        console.MarkupLineInterpolated(
            $"Served as [bold]local/{name}[/] by a gateway whose models folder (Sanjia:ModelsDir, --models-dir) is {Path.GetFullPath(request.ModelsDirectory)}; a running one picks it up within a second.");
        return Ok;
    }

    /// <summary><c>owner/name:TAG</c> → (<c>owner/name</c>, <c>TAG</c>); repository ids never contain ':'.</summary>
    private static (string Repo, string? Tag) SplitTag(string reference)
    {
        var colon = reference.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (reference, null) : (reference[..colon], reference[(colon + 1)..]);
    }

    private static int Remove(string id, string directory, IAnsiConsole console)
    {
        var name = LocalModelName.FromServedId(id);
        var files = LocalModelName.FilesNamed(directory, name).ToList();
        if (files.Count == 0)
        {
            var served = Served(directory).Select(f => f.Name).ToList();
            console.MarkupLineInterpolated($"[red]error:[/] no model 'local/{name}' in {Path.GetFullPath(directory)}.");
            console.WriteLine(served.Count == 0 ? "There are no models there." : $"Models there: {string.Join(", ", served)}.");
            return Failed;
        }

        foreach (var file in files)
        {
            File.Delete(file);
            // A download of it in progress (or interrupted) goes too, so a later pull starts clean.
            File.Delete(file + ".part");
            console.MarkupLineInterpolated($"Removed [bold]local/{name}[/] ({file}).");
        }

        console.WriteLine("A running gateway stops serving it within a second; requests already running on it finish first.");
        return Ok;
    }

    /// <summary>The GGUF files under a folder with the names the gateway serves them under.</summary>
    private static IEnumerable<(string Name, FileInfo File)> Served(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var scan = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, MatchCasing = MatchCasing.CaseInsensitive };
        return Directory.EnumerateFiles(directory, "*" + LocalModelName.Extension, scan)
            .Order(StringComparer.Ordinal)
            .Select(path => (Path.GetFileNameWithoutExtension(path), new FileInfo(path)));
    }

    private static async Task<DownloadResult> DownloadWithProgressAsync(
        ModelDownloader downloader, HubFileRequest request, ModelsCommandEnvironment env, CancellationToken ct)
    {
        var capabilities = env.Console.Profile.Capabilities;
        if (!capabilities.Interactive || !capabilities.Ansi)
        {
            return await downloader.DownloadAsync(request, new PlainDownloadProgress(env.Console, env.TimeProvider), ct)
                .ConfigureAwait(false);
        }

        return await env.Console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new DownloadedColumn(),
                new TransferSpeedColumn(),
                new RemainingTimeColumn(),
                new SpinnerColumn())
            .StartAsync(async context =>
            {
                var name = Path.GetFileName(request.File);
                var task = context.AddTask(Markup.Escape(name), maxValue: 1);
                task.IsIndeterminate = true;
                var result = await downloader.DownloadAsync(request, new SpectreDownloadProgress(task, name), ct).ConfigureAwait(false);
                if (result.Error is null)
                {
                    task.Description = Markup.Escape(name);
                    task.IsIndeterminate = false;
                    task.Value = task.MaxValue;
                }

                task.StopTask();
                return result;
            }).ConfigureAwait(false);
    }

    private static int List(string directory, IAnsiConsole console)
    {
        if (!Directory.Exists(directory))
        {
            console.MarkupLineInterpolated($"No models folder at {Path.GetFullPath(directory)}. Pull a model with: sanjia models pull <repo>:<quant>");
            return Ok;
        }

        var files = Directory.EnumerateFiles(directory, "*.gguf", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(directory, "*.gguf.part", SearchOption.AllDirectories))
            .Select(path => new FileInfo(path))
            .OrderBy(file => file.FullName, StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
        {
            console.MarkupLineInterpolated($"No GGUF files in {Path.GetFullPath(directory)}.");
            return Ok;
        }

        var table = new Table().AddColumn("Model").AddColumn("File").AddColumn(new TableColumn("Size").RightAligned()).AddColumn("Modified");
        foreach (var file in files)
        {
            var name = Path.GetRelativePath(directory, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            var partial = name.EndsWith(".part", StringComparison.Ordinal);
            var model = Path.GetFileNameWithoutExtension(partial ? name[..^5] : name);
            table.AddRow(
                new Text(partial ? "" : $"local/{model}"),
                new Markup(partial ? $"{Markup.Escape(name[..^5])} [yellow](partial)[/]" : Markup.Escape(name)),
                new Text(ByteSize.Format(file.Length)),
                new Text(file.LastWriteTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture)));
        }

        console.MarkupLineInterpolated($"Models in {Path.GetFullPath(directory)}:");
        console.Write(table);
        var complete = files.Where(f => f.Extension == ".gguf").ToList();
        console.WriteLine($"{complete.Count} model file(s), {ByteSize.Format(complete.Sum(f => f.Length))}");
        return Ok;
    }

    private static int UsageError(IAnsiConsole console, string message)
    {
        console.MarkupLineInterpolated($"[red]error:[/] {message}");
        console.WriteLine("Run 'sanjia models --help' for usage.");
        return BadUsage;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static bool TryParse(
        ReadOnlySpan<string> args, string[] allowed, int minPositional, int maxPositional, out ParsedArgs parsed, out string error)
    {
        parsed = new ParsedArgs([], new Dictionary<string, string>(StringComparer.Ordinal));
        error = "";
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                parsed.Positional.Add(arg);
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? arg[..equals] : arg;
            if (!allowed.Contains(name))
            {
                error = $"unknown option '{name}'.";
                return false;
            }

            string value;
            if (equals > 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Length)
            {
                value = args[++i];
            }
            else
            {
                error = $"option '{name}' needs a value.";
                return false;
            }

            if (value.Length == 0)
            {
                error = $"option '{name}' needs a value.";
                return false;
            }

            parsed.Options[name] = value;
        }

        if (parsed.Positional.Count < minPositional)
        {
            error = maxPositional == 2
                ? "pull needs a repository, e.g. sanjia models pull Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M, or a repository and a file."
                : "rm needs the name of a model, e.g. sanjia models rm qwen2.5-0.5b-instruct-q4_k_m (see sanjia models list).";
            return false;
        }

        if (parsed.Positional.Count > maxPositional)
        {
            error = $"unexpected argument '{parsed.Positional[maxPositional]}'.";
            return false;
        }

        return true;
    }

    private sealed record ParsedArgs(List<string> Positional, Dictionary<string, string> Options)
    {
        public string? Option(string name) => Options.GetValueOrDefault(name);
    }
}
