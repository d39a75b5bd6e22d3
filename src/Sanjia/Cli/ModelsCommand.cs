using Sanjia.ModelDownloads;
using Spectre.Console;

namespace Sanjia.Cli;

/// <summary>What the command touches outside itself, so tests can run it in-process.</summary>
internal sealed record ModelsCommandEnvironment(IAnsiConsole Console, Func<string, string?> GetEnvironmentVariable)
{
    public ModelDownloaderOptions DownloaderOptions { get; init; } = new();

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary><c>sanjia models pull|list</c>: fetch GGUF files from a Hugging Face repository and see what is on disk.</summary>
public static class ModelsCommand
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadUsage = 2;
    public const int Interrupted = 130;

    private const string Usage = """
        Usage:
          sanjia models pull <repo> <file> [--revision main] [--dir models] [--sha256 HEX] [--endpoint URL]
          sanjia models list [--dir models]

          pull  Download <file> from the Hugging Face repository <repo> into the models folder. An interrupted
                download is resumed by running the same command again; the file is checked against its SHA-256.
          list  Show the GGUF files in the models folder.

        Options:
          --revision  Branch, tag or commit (default: main).
          --dir       Models folder (default: models).
          --sha256    Expected SHA-256 of the file (default: the one the hub publishes for LFS files).
          --endpoint  Hub URL (default: $HF_ENDPOINT, else https://huggingface.co).

        Environment:
          HF_TOKEN     Access token, for private and gated repositories.
          HF_ENDPOINT  Hub URL, e.g. a mirror.

        Example:
          sanjia models pull ggml-org/models tinyllamas/stories260K.gguf
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
            return UsageError(console, "missing subcommand: pull or list.");
        }

        switch (args[0])
        {
            case "pull":
                if (!TryParse(args.AsSpan(1), ["--revision", "--dir", "--sha256", "--endpoint"], 2, out var pullArgs, out var pullError))
                {
                    return UsageError(console, pullError);
                }

                return await PullAsync(pullArgs, env, ct).ConfigureAwait(false);
            case "list":
                if (!TryParse(args.AsSpan(1), ["--dir"], 0, out var listArgs, out var listError))
                {
                    return UsageError(console, listError);
                }

                return List(listArgs.Option("--dir") ?? "models", console);
            default:
                return UsageError(console, $"unknown subcommand '{args[0]}'; expected pull or list.");
        }
    }

    private static async Task<int> PullAsync(ParsedArgs args, ModelsCommandEnvironment env, CancellationToken ct)
    {
        var console = env.Console;
        var endpoint = args.Option("--endpoint") ?? NonEmpty(env.GetEnvironmentVariable("HF_ENDPOINT")) ?? HubFileRequest.DefaultEndpoint;
        var request = new HubFileRequest(args.Positional[0], args.Positional[1])
        {
            Revision = args.Option("--revision") ?? "main",
            ModelsDirectory = args.Option("--dir") ?? "models",
            Endpoint = endpoint,
            Sha256 = args.Option("--sha256"),
            Token = NonEmpty(env.GetEnvironmentVariable("HF_TOKEN")),
        };
        if (request.Validate() is { } invalid)
        {
            return UsageError(console, invalid.Message);
        }

        console.MarkupLineInterpolated($"Pulling [bold]{request.File}[/] from {request.Repo} ({request.Revision}) into {request.ModelsDirectory}");

        DownloadResult result;
        using (var downloader = new ModelDownloader(env.DownloaderOptions))
        {
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
            $"Serve it with [bold]sanjia --model {path}[/], or point the gateway's models folder (Sanjia:ModelsDir) at {request.ModelsDirectory} to serve every .gguf file in it.");
        return Ok;
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
            console.MarkupLineInterpolated($"No models folder at {Path.GetFullPath(directory)}. Pull a model with: sanjia models pull <repo> <file>");
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

        var table = new Table().AddColumn("File").AddColumn(new TableColumn("Size").RightAligned()).AddColumn("Modified");
        foreach (var file in files)
        {
            var name = Path.GetRelativePath(directory, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            var partial = name.EndsWith(".part", StringComparison.Ordinal);
            table.AddRow(
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
        ReadOnlySpan<string> args, string[] allowed, int positionalCount, out ParsedArgs parsed, out string error)
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

        if (parsed.Positional.Count != positionalCount)
        {
            error = positionalCount == 0
                ? $"unexpected argument '{parsed.Positional[0]}'."
                : parsed.Positional.Count < positionalCount
                    ? "pull needs a repository and a file, e.g. sanjia models pull ggml-org/models tinyllamas/stories260K.gguf"
                    : $"unexpected argument '{parsed.Positional[positionalCount]}'.";
            return false;
        }

        return true;
    }

    private sealed record ParsedArgs(List<string> Positional, Dictionary<string, string> Options)
    {
        public string? Option(string name) => Options.GetValueOrDefault(name);
    }
}
