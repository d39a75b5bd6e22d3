using System.Diagnostics;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Clients;

/// <summary>
/// The official OpenAI and Anthropic Node SDKs (<c>test/js</c>: <c>openai</c>, <c>@anthropic-ai/sdk</c>) against the
/// gateway with nothing changed but the base URL: complete and streamed answers, usage, and errors surfacing as the
/// SDKs' own error classes. Needs Node.js: <c>.ci/run</c> installs it and sets <c>SANJIA_REQUIRE_NODE=1</c>, so there
/// the test fails rather than skips when it is missing.
/// </summary>
public sealed class NodeSdkTests
{
    private const string Reply = "Hello from the fake vendor";

    [SkippableFact]
    public async Task The_official_OpenAI_and_Anthropic_Node_SDKs_work_with_only_the_base_url_changed()
    {
        var node = Which("node");
        if (node is null)
        {
            Assert.False(Environment.GetEnvironmentVariable("SANJIA_REQUIRE_NODE") == "1", "Node.js is required here but not installed.");
            Skip.If(true, "Node.js is not installed (.ci/run installs it).");
        }
        var dir = ScriptDirectory();
        if (!File.Exists(Path.Combine(dir, "node_modules", "openai", "package.json")))
        {
            var (code, output) = await RunAsync(Which("npm") ?? "npm", ["ci", "--no-audit", "--no-fund"], dir, [], TimeSpan.FromMinutes(5));
            Assert.True(code == 0, "npm ci failed:\n" + output);
        }

        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply(Reply, promptTokens: 11, completionTokens: 7));
        await using var gw = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("vendor", upstream.BaseUrl, upstream.ApiKey),
            .. GatewayServer.Deployment("chat", 0, "vendor", "m1"),
        ]);
        var (exit, text) = await RunAsync(node!, ["sdk-check.mjs"], dir,
            [("SANJIA_URL", gw.BaseUrl.TrimEnd('/')), ("SANJIA_KEY", GatewayServer.MasterKey), ("SANJIA_MODEL", "chat")], TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, "the SDK script failed:\n" + text);
        using var doc = JsonDocument.Parse(text.Trim().Split('\n')[^1]);
        var r = doc.RootElement;

        // OpenAI SDK: a complete answer and a stream, each with the vendor's usage.
        var complete = r.GetProperty("complete");
        Assert.Equal("chat.completion", complete.GetProperty("object").GetString());
        Assert.Equal(Reply, complete.GetProperty("text").GetString());
        Assert.Equal("stop", complete.GetProperty("finish").GetString());
        Assert.Equal(11, complete.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(7, complete.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var stream = r.GetProperty("stream");
        Assert.Equal(Reply, stream.GetProperty("text").GetString());
        Assert.True(stream.GetProperty("chunks").GetInt32() >= 2);
        Assert.Equal(7, stream.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // Errors arrive as the SDK's own classes, from the status and the OpenAI-shaped body.
        Assert.Equal("AuthenticationError", r.GetProperty("badKey").GetProperty("name").GetString());
        Assert.Equal(401, r.GetProperty("badKey").GetProperty("status").GetInt32());
        Assert.Equal("NotFoundError", r.GetProperty("unknownModel").GetProperty("name").GetString());
        Assert.Equal("model_not_found", r.GetProperty("unknownModel").GetProperty("code").GetString());

        // Anthropic SDK against the same gateway and model: Messages, complete and streamed.
        var message = r.GetProperty("messages");
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal(Reply, message.GetProperty("text").GetString());
        Assert.Equal("end_turn", message.GetProperty("stop").GetString());
        Assert.Equal(11, message.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(7, message.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        var streamed = r.GetProperty("messagesStream");
        Assert.Equal(Reply, streamed.GetProperty("text").GetString());
        Assert.Equal("end_turn", streamed.GetProperty("stop").GetString());
        Assert.Equal(7, streamed.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.True(streamed.GetProperty("deltas").GetInt32() >= 1);
        Assert.Equal("NotFoundError", r.GetProperty("anthropicUnknownModel").GetProperty("name").GetString());

        // Every call that reached the engine was metered: four answers and the two unknown-model refusals.
        var ledger = await gw.LedgerAsync(expected: 6);
        Assert.Equal(4, ledger.Count(e => e.Status == 200));
        Assert.Equal(2, ledger.Count(e => e.Status == 404));
    }

    internal static string ScriptDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "test", "js");
            if (File.Exists(Path.Combine(candidate, "sdk-check.mjs"))) return candidate;
        }
        throw new InvalidOperationException("test/js/sdk-check.mjs not found above " + AppContext.BaseDirectory);
    }

    internal static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    internal static async Task<(int Code, string Output)> RunAsync(string file, string[] args, string dir, (string Name, string Value)[] env, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (name, value) in env) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            return (-1, "timed out\n" + await stdout + await stderr);
        }
        return (p.ExitCode, await stdout + (p.ExitCode == 0 ? "" : "\n" + await stderr));
    }
}
