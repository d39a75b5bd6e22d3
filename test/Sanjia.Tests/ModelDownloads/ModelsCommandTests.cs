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
        var saved = Path.Combine(_dir, "tinyllamas", "stories260K.gguf");
        Assert.Equal(TestModel.Content, await File.ReadAllBytesAsync(saved));
        Assert.False(File.Exists(saved + ".part"));
        Assert.Contains("verified", Output, StringComparison.Ordinal);
        Assert.Contains($"--model {Path.Combine(_dir, "tinyllamas", "stories260K.gguf")}", Output, StringComparison.Ordinal);

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

    [Theory]
    [InlineData("pull", "owner/repo")]
    [InlineData("pull", "owner/repo", "model.gguf", "--bogus", "x")]
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
