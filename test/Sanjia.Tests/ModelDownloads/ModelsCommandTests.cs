using System.Security.Cryptography;
using Sanjia.Cli;
using Sanjia.ModelDownloads;
using Spectre.Console;

namespace Sanjia.Tests.ModelDownloads;

public sealed class ModelsCommandTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sanjia-pull-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);
    private readonly StringWriter _output = new();

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }

        _output.Dispose();
    }

    [Fact]
    public async Task Pull_follows_the_cdn_redirect_and_saves_a_byte_equal_file_without_leaving_a_part()
    {
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content, file: "tinyllamas/stories260K.gguf");
        _environment["HF_TOKEN"] = "hf_test_token";

        var exit = await PullAsync(hub);

        Assert.Equal(0, exit);
        // Flat in the models folder under the file's own name, which is the name it is served under.
        var saved = Path.Combine(_dir, "stories260K.gguf");
        Assert.Equal(TestModel.Content, await File.ReadAllBytesAsync(saved));
        Assert.False(File.Exists(saved + ".part"));
        Assert.Contains("verified", Output, StringComparison.Ordinal);
        Assert.Contains("Served as local/stories260K", Output, StringComparison.Ordinal);

        // The metadata came from the hub's redirect itself, not from the CDN; the token went to the hub only.
        var head = Assert.Single(hub.Requests, r => r.Method == "HEAD");
        Assert.Equal("Bearer hf_test_token", head.Authorization);
        Assert.DoesNotContain(hub.Requests, r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal) && r.Method == "HEAD");
        Assert.Single(hub.ContentGets);
    }

    [Fact]
    public async Task Pull_of_a_file_already_present_checks_it_and_transfers_nothing()
    {
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content);
        Assert.Equal(0, await PullAsync(hub));

        var exit = await PullAsync(hub);

        Assert.Equal(0, exit);
        Assert.Single(hub.ContentGets);
        Assert.Contains("Already downloaded", Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_on_an_interactive_terminal_draws_a_progress_bar_and_saves_the_file()
    {
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content);

        var exit = await RunAsync(CancellationToken.None, ["pull", hub.Repo, hub.File, "--dir", _dir, "--endpoint", hub.Endpoint], interactive: true);

        Assert.Equal(0, exit);
        Assert.Equal(TestModel.Content, await File.ReadAllBytesAsync(Target));
        Assert.Contains("100%", Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_resumes_with_a_range_request_after_the_connection_drops()
    {
        const long cut = 400_000;
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content);
        hub.DropFirstGetAfterBytes = cut;
        hub.BeforeInterruption = () => WaitForPartLengthAsync(cut);

        var exit = await PullAsync(hub);

        Assert.Equal(0, exit);
        Assert.Equal(TestModel.Content, await File.ReadAllBytesAsync(Target));
        Assert.False(File.Exists(Part));
        var gets = hub.ContentGets.ToList();
        Assert.Equal(2, gets.Count);
        Assert.Null(gets[0].Range);
        Assert.Equal($"bytes={cut}-", gets[1].Range);
        Assert.Contains("Retrying", Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_resumes_a_part_file_left_by_an_earlier_run()
    {
        const int kept = 500_000;
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content);
        Directory.CreateDirectory(_dir);
        await File.WriteAllBytesAsync(Part, TestModel.Content[..kept]);

        var exit = await PullAsync(hub);

        Assert.Equal(0, exit);
        Assert.Equal(TestModel.Content, await File.ReadAllBytesAsync(Target));
        Assert.False(File.Exists(Part));
        Assert.Equal($"bytes={kept}-", Assert.Single(hub.ContentGets).Range);
    }

    [Fact]
    public async Task Pull_with_a_complete_part_file_only_verifies_and_renames_it()
    {
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content);
        Directory.CreateDirectory(_dir);
        await File.WriteAllBytesAsync(Part, TestModel.Content);

        var exit = await PullAsync(hub);

        Assert.Equal(0, exit);
        Assert.Equal(TestModel.Content, await File.ReadAllBytesAsync(Target));
        Assert.Empty(hub.ContentGets);
    }

    [Fact]
    public async Task Pull_starts_over_when_the_server_ignores_the_range()
    {
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content);
        hub.IgnoreRange = true;
        Directory.CreateDirectory(_dir);
        var garbage = new byte[300_000];
        new Random(7).NextBytes(garbage);
        await File.WriteAllBytesAsync(Part, garbage);

        var exit = await PullAsync(hub);

        Assert.Equal(0, exit);
        Assert.Equal(TestModel.Content, await File.ReadAllBytesAsync(Target));
        Assert.Equal("bytes=300000-", Assert.Single(hub.ContentGets).Range);
    }

    [Fact]
    public async Task Pull_fails_and_keeps_nothing_when_the_sha256_argument_does_not_match()
    {
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content);
        var other = Convert.ToHexStringLower(SHA256.HashData("something else"u8));

        var exit = await PullAsync(hub, "--sha256", other);

        Assert.NotEqual(0, exit);
        Assert.False(File.Exists(Target));
        Assert.False(File.Exists(Part));
        Assert.Contains("Checksum mismatch", Output, StringComparison.Ordinal);
        Assert.Contains(other, Output, StringComparison.Ordinal);
        Assert.Contains(hub.Sha256, Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_fails_and_keeps_nothing_when_the_content_does_not_match_the_hubs_etag()
    {
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content);
        hub.LinkedEtag = Convert.ToHexStringLower(SHA256.HashData("a different revision"u8));

        var exit = await PullAsync(hub);

        Assert.NotEqual(0, exit);
        Assert.False(File.Exists(Target));
        Assert.False(File.Exists(Part));
        Assert.Contains("Checksum mismatch", Output, StringComparison.Ordinal);
        Assert.Contains("X-Linked-Etag", Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_of_a_missing_file_fails_with_a_message_naming_the_repo_and_file()
    {
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content);

        var exit = await RunAsync("pull", hub.Repo, "missing-q4.gguf", "--dir", _dir, "--endpoint", hub.Endpoint);

        Assert.NotEqual(0, exit);
        Assert.Contains("missing-q4.gguf", Output, StringComparison.Ordinal);
        Assert.Contains(hub.Repo, Output, StringComparison.Ordinal);
        Assert.Contains("404", Output, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(_dir, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Pull_gives_up_with_an_error_when_the_hub_stays_unavailable()
    {
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content);
        hub.Unavailable = true;

        var exit = await PullAsync(hub);

        Assert.NotEqual(0, exit);
        Assert.False(File.Exists(Target));
        Assert.Equal(3, hub.Requests.Count(r => r.Method == "HEAD"));
        Assert.Contains("503", Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_keeps_the_part_file_and_the_next_run_resumes_it()
    {
        const long stall = 300_000;
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content);
        hub.StallFirstGetAfterBytes = stall;
        using var cancel = new CancellationTokenSource();
        hub.BeforeInterruption = async () =>
        {
            await WaitForPartLengthAsync(stall);
            await cancel.CancelAsync();
        };

        var interrupted = await PullAsync(hub, cancel.Token);

        Assert.Equal(ModelsCommand.Interrupted, interrupted);
        Assert.Equal(stall, new FileInfo(Part).Length);
        Assert.False(File.Exists(Target));
        Assert.Contains("resume", Output, StringComparison.Ordinal);

        var resumed = await PullAsync(hub);

        Assert.Equal(0, resumed);
        Assert.Equal(TestModel.Content, await File.ReadAllBytesAsync(Target));
        Assert.Equal($"bytes={stall}-", hub.ContentGets.Last().Range);
    }

    [Fact]
    public async Task List_shows_downloaded_models_with_their_size_and_marks_partial_ones()
    {
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content);
        Assert.Equal(0, await PullAsync(hub));
        await File.WriteAllBytesAsync(Path.Combine(_dir, "other-model.gguf.part"), new byte[1234]);
        _output.GetStringBuilder().Clear();

        var exit = await RunAsync("list", "--dir", _dir);

        Assert.Equal(0, exit);
        var line = Assert.Single(Output.Split('\n'), l => l.Contains("stories260K.gguf", StringComparison.Ordinal));
        Assert.Contains(ByteSize.Format(TestModel.Content.Length), line, StringComparison.Ordinal);
        var partial = Assert.Single(Output.Split('\n'), l => l.Contains("other-model.gguf", StringComparison.Ordinal));
        Assert.Contains("partial", partial, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_of_a_missing_folder_says_so()
    {
        var exit = await RunAsync("list", "--dir", _dir);

        Assert.Equal(0, exit);
        Assert.Contains("No models folder", Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_of_a_repository_and_quantisation_tag_picks_the_file_from_the_listing_and_names_the_model_after_both()
    {
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content, "Qwen/Qwen2.5-0.5B-Instruct-GGUF", "qwen2.5-0.5b-instruct-q4_k_m.gguf");
        hub.OtherFiles.AddRange([
            ("README.md", 100), ("qwen2.5-0.5b-instruct-q4_k.gguf", 10), ("qwen2.5-0.5b-instruct-q8_0.gguf", 20),
            ("mmproj-qwen2.5-q4_k_m.gguf", 30)]);
        hub.PageSize = 2; // the listing comes in three pages

        var exit = await RunAsync("pull", "Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M", "--dir", _dir, "--endpoint", hub.Endpoint);

        Assert.Equal(0, exit);
        var saved = Path.Combine(_dir, "qwen2.5-0.5b-instruct-q4_k_m.gguf");
        Assert.Equal(TestModel.Content, await File.ReadAllBytesAsync(saved));
        Assert.Contains("Served as local/qwen2.5-0.5b-instruct-q4_k_m", Output, StringComparison.Ordinal);
        Assert.Equal(3, hub.Requests.Count(r => r.Path.StartsWith("/api/models/", StringComparison.Ordinal)));
        Assert.Single(hub.ContentGets);
    }

    [Fact]
    public async Task Pull_of_a_tag_the_repository_lacks_fails_naming_its_files_and_downloads_nothing()
    {
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content, "Qwen/Qwen2.5-0.5B-Instruct-GGUF", "qwen2.5-0.5b-instruct-q4_k_m.gguf");

        var exit = await RunAsync("pull", "Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q2_K", "--dir", _dir, "--endpoint", hub.Endpoint);

        Assert.Equal(ModelsCommand.Failed, exit);
        Assert.Contains("no GGUF file for the tag 'Q2_K'", Output, StringComparison.Ordinal);
        Assert.Contains("qwen2.5-0.5b-instruct-q4_k_m.gguf", Output, StringComparison.Ordinal);
        Assert.Empty(hub.ContentGets);
    }

    [Fact]
    public async Task Pull_refuses_a_file_that_would_be_served_under_the_name_of_another()
    {
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content);
        // Elsewhere in the folder (subfolders are served too), under the name the pull would give.
        var other = Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "mine")).FullName, "STORIES260K.gguf");
        await File.WriteAllBytesAsync(other, [1, 2, 3]);

        Assert.Equal(ModelsCommand.Failed, await PullAsync(hub));
        Assert.Contains("already served as 'local/stories260K'", Output, StringComparison.Ordinal);
        Assert.Empty(hub.ContentGets);

        // Under the same file name but with other content: never overwritten.
        File.Move(other, Target);
        _output.GetStringBuilder().Clear();
        Assert.Equal(ModelsCommand.Failed, await PullAsync(hub));
        Assert.Contains("both would be served as 'local/stories260K'", Output, StringComparison.Ordinal);
        Assert.Equal([1, 2, 3], await File.ReadAllBytesAsync(Target));

        // --name serves it beside the other one.
        Assert.Equal(0, await PullAsync(hub, "--name", "stories-copy"));
        Assert.Equal(TestModel.Content, await File.ReadAllBytesAsync(Path.Combine(_dir, "stories-copy.gguf")));
    }

    [Fact]
    public async Task Rm_deletes_the_model_and_its_partial_download_and_names_what_exists_when_unknown()
    {
        await using var hub = await FakeHubServer.StartAsync(TestModel.Content);
        Assert.Equal(0, await PullAsync(hub));
        await File.WriteAllBytesAsync(Part, [1]);

        Assert.Equal(ModelsCommand.Failed, await RunAsync("rm", "local/nothing", "--dir", _dir));
        Assert.Contains("Models there: stories260K.", Output, StringComparison.Ordinal);

        Assert.Equal(0, await RunAsync("rm", "local/stories260K", "--dir", _dir));
        Assert.False(File.Exists(Target));
        Assert.False(File.Exists(Part));
        Assert.Contains("Removed local/stories260K", Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pull")]
    [InlineData("pull", "owner/repo:")]
    [InlineData("pull", "owner/repo", "model.gguf", "--name", "../x")]
    [InlineData("pull", "owner/repo", "model.gguf", "--bogus", "x")]
    [InlineData("rm")]
    [InlineData("rm", "a", "b")]
    [InlineData("pull", "owner/repo", "model.gguf", "--sha256", "not-a-hash")]
    [InlineData("pull", "owner/repo", "../escape.gguf")]
    [InlineData("pull", "owner/repo", "model.gguf", "--dir")]
    [InlineData("list", "extra")]
    [InlineData("fetch")]
    [InlineData]
    public async Task Bad_usage_exits_with_2_and_says_what_is_wrong(params string[] args)
    {
        var exit = await RunAsync(args);

        Assert.Equal(ModelsCommand.BadUsage, exit);
        Assert.Contains("error:", Output, StringComparison.Ordinal);
        Assert.Contains("--help", Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("pull", "--help")]
    public async Task Help_prints_the_usage(params string[] args)
    {
        var exit = await RunAsync(args);

        Assert.Equal(0, exit);
        Assert.Contains("sanjia models pull <repo> <file>", Output, StringComparison.Ordinal);
        Assert.Contains("sanjia models list", Output, StringComparison.Ordinal);
    }

    private string Target => Path.Combine(_dir, "stories260K.gguf");

    private string Part => Target + ".part";

    private string Output => _output.ToString();

    private Task<int> PullAsync(FakeHubServer hub, params string[] extra) => PullAsync(hub, CancellationToken.None, extra);

    private Task<int> PullAsync(FakeHubServer hub, CancellationToken ct, params string[] extra) =>
        RunAsync(ct, ["pull", hub.Repo, hub.File, "--dir", _dir, "--endpoint", hub.Endpoint, .. extra]);

    private Task<int> RunAsync(params string[] args) => RunAsync(CancellationToken.None, args);

    private async Task<int> RunAsync(CancellationToken ct, string[] args, bool interactive = false)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = interactive ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(_output),
        });

        // Wide enough that no message is wrapped in the middle of what the tests look for.
        console.Profile.Width = 400;
        var environment = new ModelsCommandEnvironment(console, name => _environment.GetValueOrDefault(name))
        {
            DownloaderOptions = new ModelDownloaderOptions
            {
                MaxAttempts = 3,
                InitialBackoff = TimeSpan.FromMilliseconds(20),
                IdleTimeout = Patience,
            },
        };

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        return await ModelsCommand.RunAsync(args, environment, timeout.Token);
    }

    private async Task WaitForPartLengthAsync(long length)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(Part) && new FileInfo(Part).Length >= length)
            {
                return;
            }

            await Task.Delay(20);
        }
    }
}
