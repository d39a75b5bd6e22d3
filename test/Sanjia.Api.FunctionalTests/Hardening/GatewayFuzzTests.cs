using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Xunit.Abstractions;

namespace Sanjia.Api.FunctionalTests.Hardening;

/// <summary>
/// Level two of the fuzz suite: hostile bodies (<see cref="HostileBodies"/>) over real HTTP to every inbound route of
/// a running gateway in front of the fake OpenAI-compatible, Anthropic and Gemini vendors and the local model. The
/// property: no answer is a 500, no other 5xx comes from the gateway's own code (only an upstream's failure may be
/// a 502/503/504), and afterwards the gateway still serves every backend.
/// </summary>
public sealed class GatewayFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly AllBackends _all = new();

    public Task InitializeAsync() => _all.InitializeAsync();

    public Task DisposeAsync() => _all.DisposeAsync();

    [Fact]
    public async Task Hostile_requests_to_every_route_get_no_5xx_and_the_gateway_keeps_serving()
    {
        var gateway = _all.Gateway;
        // What the admin routes and the prompt route work on.
        await gateway.AdminAsync(HttpMethod.Post, "/admin/prompts", new
        {
            id = "greet", model = "fa/gpt-4o-mini", defaults = new { max_tokens = 8 },
            messages = new[] { new { role = "user", content = "Hi {{name}} {{n}} {{ok}}" } },
        }, 201);
        var (keyId, _) = await gateway.CreateKeyAsync(new { name = "fuzz" });
        var team = (await gateway.AdminAsync(HttpMethod.Post, "/admin/teams", new { name = "fuzz-team" }, 201)).GetProperty("id").GetString()!;
        var seeds = HostileBodies.Seeds.Select(s => (Method: "POST", s.Path, s.Body))
            .Concat(HostileBodies.PatchSeeds.Select(s => (Method: "PATCH", Path: s.PathTemplate.Replace("{key}", keyId).Replace("{team}", team), s.Body)))
            .ToList();

        var count = HostileBodies.Count(600);
        var gen = HostileBodies.Cases([.. seeds.Select(s => (s.Method + " " + s.Path, s.Body))]);
        var cases = gen.Sample(count, new Rnd(HostileBodies.Seed, 0x9E3779B97F4A7C15UL), 30);
        Assert.Equal(count, cases.Length);

        var statuses = new ConcurrentDictionary<int, int>();
        var failures = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (c, ct) =>
        {
            var space = c.Path.IndexOf(' ');
            using var request = new HttpRequestMessage(new HttpMethod(c.Path[..space]), c.Path[(space + 1)..]) { Content = new ByteArrayContent(c.Body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            var text = await response.Content.ReadAsStringAsync(ct); // streams are read to their end
            var status = (int)response.StatusCode;
            statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            if (status == 500 || (status >= 500 && !IsUpstreamFailure(text)))
            {
                failures.Enqueue($"{status} {text[..Math.Min(300, text.Length)]}\n   for {c}");
            }
        });
        output.WriteLine($"{count} requests in {clock.Elapsed.TotalSeconds:F1} s; statuses: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}");
        foreach (var f in failures.Take(20)) output.WriteLine(f);
        Assert.True(failures.IsEmpty, $"{failures.Count} answers were 5xx from the gateway itself; first: {failures.FirstOrDefault()}");

        // Still serving every backend.
        foreach (var model in HostileBodies.ChatModels)
        {
            var (response, _, _) = await gateway.ChatAsync(model);
            Assert.True(response.IsSuccessStatusCode, $"{model}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>A 502/503/504 that reports a vendor's failure (the fakes answer some garbage with their own 5xx), not the gateway's.</summary>
    private static bool IsUpstreamFailure(string body) =>
        body.Contains("\"upstream_error\"", StringComparison.Ordinal) || body.Contains("\"api_error\"", StringComparison.Ordinal)
        && body.Contains(" returned ", StringComparison.Ordinal);
}
