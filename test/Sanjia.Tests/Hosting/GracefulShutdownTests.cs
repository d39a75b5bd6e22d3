using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Tests.Hosting;

/// <summary>SIGTERM to the real executable while streams are open, as systemd, Docker and Kubernetes stop it.</summary>
public sealed class GracefulShutdownTests : IDisposable
{
    private const string Key = "sk-shutdown-test-0123456789abcdef";
    private const int DrainSeconds = 3;
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-shutdown-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task In_flight_requests_get_the_drain_time_and_open_streams_then_end_with_the_protocols_error_event_and_a_ledger_row()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        // In arrival order: one stream that ends within the drain time (1.5 s), then two that would run for minutes.
        upstream.Enqueue(
            FakeBehavior.StreamChunks(6, TimeSpan.FromMilliseconds(250)),
            FakeBehavior.StreamChunks(2000, TimeSpan.FromMilliseconds(100)),
            FakeBehavior.StreamChunks(2000, TimeSpan.FromMilliseconds(100)));
        await using var gateway = GatewayProcess.Start(_dir, "--port", "0", "--data", "data",
            $"--Sanjia:MasterKey={Key}", $"--Sanjia:ShutdownDrainSeconds={DrainSeconds}",
            "--Sanjia:PresetsFromEnvironment=false", "--Sanjia:Local:Embeddings=false",
            $"--Sanjia:Providers:fake:BaseUrl={upstream.BaseUrl}", $"--Sanjia:Providers:fake:ApiKey={upstream.ApiKey}",
            "--Sanjia:Providers:fake:Models:0=gpt-4o-mini");
        using var http = new HttpClient { BaseAddress = new Uri(await gateway.ListeningAsync()), Timeout = TimeSpan.FromSeconds(90) };
        http.DefaultRequestHeaders.Add("x-api-key", Key);

        var shortStream = await OpenAsync(http, "/v1/chat/completions", """{"model":"fake/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var openAi = await OpenAsync(http, "/v1/chat/completions", """{"model":"fake/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var anthropic = await OpenAsync(http, "/v1/messages", """{"model":"fake/gpt-4o-mini","stream":true,"max_tokens":5000,"messages":[{"role":"user","content":"hi"}]}""");

        gateway.Terminate();
        var terminated = Stopwatch.StartNew();
        var shortText = await shortStream.RestAsync();
        var openAiText = await openAi.RestAsync();
        var openAiEnded = terminated.Elapsed;
        var anthropicText = await anthropic.RestAsync();
        var anthropicEnded = terminated.Elapsed;
        Assert.Equal(0, await gateway.WaitForExitAsync());

        // The short stream finished normally within the drain time.
        Assert.EndsWith("data: [DONE]\n\n", shortText, StringComparison.Ordinal);
        // The long ones ran until the drain time was over (a timer never fires early), then got their protocol's error.
        Assert.InRange(openAiEnded, TimeSpan.FromSeconds(DrainSeconds - 0.5), TimeSpan.FromSeconds(60));
        Assert.InRange(anthropicEnded, TimeSpan.FromSeconds(DrainSeconds - 0.5), TimeSpan.FromSeconds(60));
        Assert.Contains("data: {\"error\":{", openAiText, StringComparison.Ordinal);
        Assert.Contains("\"code\":\"server_shutting_down\"", openAiText, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", openAiText, StringComparison.Ordinal);
        Assert.Contains("event: error\ndata: {\"type\":\"error\",\"error\":{", anthropicText, StringComparison.Ordinal);
        Assert.DoesNotContain("event: message_stop", anthropicText, StringComparison.Ordinal);

        // Logged: the drain, and each stream it ended.
        Assert.Contains($"requests in flight get up to {DrainSeconds} s to finish", gateway.Output, StringComparison.Ordinal);
        Assert.Equal(2, CountOf(gateway.Output, "was ended by the shutdown"));

        // Each stream has its ledger row: the two cut ones as 503 server_shutting_down, with the tokens they got.
        var rows = LedgerRows();
        Assert.Equal(3, rows.Count);
        Assert.Single(rows, r => r.Status == 200 && r.Endpoint == "/v1/chat/completions");
        Assert.Equal(2, rows.Count(r => r.Status == 503 && r.ErrorCode == "server_shutting_down" && r.OutputTokens > 0));
        Assert.Single(rows, r => r.Status == 503 && r.Endpoint == "/v1/messages");
    }

    private static int CountOf(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    private List<(int Status, string? ErrorCode, string Endpoint, long OutputTokens)> LedgerRows()
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dir, "data", "sanjia.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT status, error_code, endpoint, output_tokens FROM ledger";
        using var reader = command.ExecuteReader();
        var rows = new List<(int, string?, string, long)>();
        while (reader.Read())
        {
            rows.Add((reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.GetInt64(3)));
        }
        return rows;
    }

    private static async Task<OpenStream> OpenAsync(HttpClient http, string path, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("anthropic-version", "2023-06-01");
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
        {
            Assert.Fail($"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[4096];
        var first = await stream.ReadAsync(buffer); // the stream is open and flowing
        Assert.True(first > 0);
        return new OpenStream(response, stream, Encoding.UTF8.GetString(buffer, 0, first));
    }

    private sealed record OpenStream(HttpResponseMessage Response, Stream Body, string Start)
    {
        /// <summary>Everything up to the end of the response (a reset after the error event counts as the end).</summary>
        public async Task<string> RestAsync()
        {
            var text = new StringBuilder(Start);
            var buffer = new byte[4096];
            try
            {
                int n;
                while ((n = await Body.ReadAsync(buffer)) > 0)
                {
                    text.Append(Encoding.UTF8.GetString(buffer, 0, n));
                }
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                // The OpenAI stream is aborted after its error event so no client mistakes it for a clean end.
            }
            Response.Dispose();
            return text.ToString().ReplaceLineEndings("\n");
        }
    }
}
