using System.Net;
using System.Text;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Clients;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Hardening;

/// <summary>Issue 13 point 7: limits answered in the caller's protocol and readable by real clients; data files owner-only.</summary>
public sealed class LimitsTests : GatewayWithUpstream
{
    private const long Body64MiB = 64L * 1024 * 1024;

    [Theory]
    [InlineData("/v1/chat/completions", 1, 40 * 1024)]
    [InlineData("/v1/messages", 1, 40 * 1024)]
    [InlineData("/v1/chat/completions", 150, 10)]
    public async Task Oversized_headers_get_431_with_a_JSON_error_in_the_callers_protocol(string path, int headers, int size)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = GatewayServer.ChatBody("fake/gpt-4o-mini") };
        for (var i = 0; i < headers; i++) request.Headers.Add($"x-filler-{i}", new string('a', size));
        using var response = await Gateway.Http.SendAsync(request);
        await AssertLimitErrorAsync(response, path, HttpStatusCode.RequestHeaderFieldsTooLarge, "request_header_fields_too_large");

        // Ordinary requests are untouched by the check.
        var (ok, _, _) = await Gateway.ChatAsync("fake/gpt-4o-mini");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"model":"fake/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"metadata":{"x":DEEP}}""")]
    [InlineData("/v1/embeddings", """{"model":"fake/text-embedding-3-small","input":"hi","x":DEEP}""")]
    [InlineData("/v1/images/generations", """{"model":"fake/gpt-image-1","prompt":"hi","x":DEEP}""")]
    [InlineData("/v1/responses", """{"model":"fake/gpt-4o-mini","input":"hi","metadata":{"x":DEEP}}""")]
    [InlineData("/v1/messages", """{"model":"fake/gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"metadata":{"x":DEEP}}""")]
    [InlineData("/v1/messages/count_tokens", """{"model":"fake/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"metadata":{"x":DEEP}}""")]
    public async Task Valid_JSON_nested_too_deeply_is_a_400_that_says_so(string path, string template)
    {
        // Valid JSON 70 levels deep: it was "could not parse the JSON body... Send a valid JSON object".
        var body = template.Replace("DEEP", new string('[', 70) + new string(']', 70), StringComparison.Ordinal);
        using var response = await Gateway.Http.PostAsync(path.TrimStart('/'), new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        var root = JsonDocument.Parse(text).RootElement;
        if (path.StartsWith("/v1/messages", StringComparison.Ordinal)) Assert.Equal("error", root.GetProperty("type").GetString());
        var message = root.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("nested too deeply", message, StringComparison.Ordinal);
        Assert.Contains("64", message, StringComparison.Ordinal);
        Assert.Empty(Upstream.Requests);
    }

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/messages")]
    public async Task A_request_target_over_8_KiB_gets_414_with_a_JSON_error_in_the_callers_protocol(string path)
    {
        // Kestrel's own 414 had an empty body.
        using var response = await Gateway.Http.PostAsync(path.TrimStart('/') + "?q=" + new string('a', 9 * 1024), GatewayServer.ChatBody("fake/gpt-4o-mini"));
        await AssertLimitErrorAsync(response, path, HttpStatusCode.RequestUriTooLong, "request_uri_too_long");
    }

    /// <summary>A limit's refusal: its status, a JSON error in the route's protocol, and no upstream call.</summary>
    private async Task AssertLimitErrorAsync(HttpResponseMessage response, string path, HttpStatusCode status, string openAiCode)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        if (path == "/v1/messages") Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        else Assert.Equal(openAiCode, error.GetProperty("code").GetString());
        Assert.Empty(Upstream.Requests);
    }

    /// <summary>Writes <paramref name="size"/> bytes of spaces in 1 MiB pieces, without a declared length when <paramref name="chunked"/>.</summary>
    private sealed class LargeContent(long size, bool chunked) : HttpContent
    {
        private static readonly byte[] Piece = Enumerable.Repeat((byte)' ', 1024 * 1024).ToArray();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (long sent = 0; sent < size; sent += Piece.Length) await stream.WriteAsync(Piece);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = size;
            return !chunked;
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_64_MiB_body_gets_a_413_the_client_can_read(bool chunked)
    {
        for (var i = 0; i < 3; i++)
        {
            using var response = await Gateway.Http.PostAsync("/v1/chat/completions", new LargeContent(Body64MiB, chunked));
            var text = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Equal("request_too_large", JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        Assert.Empty(Upstream.Requests);
        var (ok, _, _) = await Gateway.ChatAsync("fake/gpt-4o-mini");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [SkippableFact]
    public async Task Node_fetch_reads_the_413_for_a_64_MiB_body_declared_or_streamed()
    {
        var node = NodeSdkTests.Which("node");
        if (node is null)
        {
            Assert.False(Environment.GetEnvironmentVariable("SANJIA_REQUIRE_NODE") == "1", "Node.js is required here but not installed.");
            Skip.If(true, "Node.js is not installed (.ci/run installs it).");
        }
        var (exit, output) = await NodeSdkTests.RunAsync(node!, ["large-body.mjs"], NodeSdkTests.ScriptDirectory(),
            [("SANJIA_URL", Gateway.BaseUrl), ("SANJIA_KEY", Gateway.Key), ("SANJIA_RUNS", "3")], TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, output);
        var results = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(6, results.GetArrayLength());
        foreach (var r in results.EnumerateArray())
        {
            Assert.True(r.TryGetProperty("status", out var status), r.ToString());
            Assert.Equal(413, status.GetInt32());
            Assert.Contains("request_too_large", r.GetProperty("body").GetString());
        }
    }

    [SkippableFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_databases_their_WAL_and_the_journal_are_owner_only()
    {
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes.");
        var (ok, _, _) = await Gateway.ChatAsync("fake/gpt-4o-mini");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        await Gateway.LedgerAsync(1);
        var files = Directory.GetFiles(Gateway.DataDir).Where(f => !f.EndsWith(".json", StringComparison.Ordinal)).ToList();
        Assert.Contains(Gateway.DatabasePath, files);
        Assert.Contains(Gateway.DatabasePath + "-wal", files);
        var readable = files.Where(f => (File.GetUnixFileMode(f) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0).ToList();
        Assert.True(readable.Count == 0, "readable by others: " + string.Join(", ", readable.Select(f => $"{Path.GetFileName(f)} {File.GetUnixFileMode(f)}")));
    }
}
