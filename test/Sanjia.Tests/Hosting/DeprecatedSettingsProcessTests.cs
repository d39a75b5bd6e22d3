using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Tests.Hosting;

/// <summary>A setting that moved still works where it was, and the gateway says at start where it went.</summary>
public sealed class DeprecatedSettingsProcessTests : IDisposable
{
    private const string Key = "sk-test-deprecated-0123456789";
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("Sanjia:Timeouts:StreamIdleSeconds", "Set Sanjia:Routing:Timeouts:StreamIdleSeconds instead")]
    [InlineData("Sanjia:Providers:a:Timeouts:StreamIdleSeconds", "Set Sanjia:Models:<alias>:Deployments:<i>:Timeouts:StreamIdleSeconds on the deployments of 'a'")]
    public async Task The_old_stream_idle_setting_still_cuts_a_silent_stream_and_start_up_names_its_new_path(string oldPath, string newPath)
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        // Silent for 30 s after two chunks: only the old setting (1 s) can cut it; the router's default is 120 s.
        upstream.Enqueue(FakeBehavior.StallAfterChunks(2, TimeSpan.FromSeconds(30)) with { ChunkCount = 5 });
        await using var gateway = GatewayProcess.Start(_dir, "--port", "0", $"--Sanjia:MasterKey={Key}", "--Sanjia:PresetsFromEnvironment=false",
            "--Sanjia:Local:Embeddings=false", $"--Sanjia:Providers:a:BaseUrl={upstream.BaseUrl}", $"--Sanjia:Providers:a:ApiKey={upstream.ApiKey}",
            $"--{oldPath}=1");
        var url = await gateway.ListeningAsync();

        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"a/m1","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var sse = await SseRead.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, sse.ContentChunks);
        Assert.False(sse.Done);
        Assert.Contains("no stream data for 1 s", sse.Error, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(25));
        // The console logger writes on its own thread: the line may follow the banner.
        await WaitForOutputAsync(gateway, $"{oldPath}: is deprecated");
        Assert.Contains(newPath, gateway.Output, StringComparison.Ordinal);
    }

    private static async Task WaitForOutputAsync(GatewayProcess gateway, string text)
    {
        for (var waited = 0; waited < 100 && !gateway.Output.Contains(text, StringComparison.Ordinal); waited++)
        {
            await Task.Delay(100);
        }
        Assert.Contains(text, gateway.Output, StringComparison.Ordinal);
    }
}
