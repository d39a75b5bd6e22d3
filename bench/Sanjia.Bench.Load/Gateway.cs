using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;

namespace Sanjia.Bench.Load;

/// <summary>Starts the gateway's Release build the way a user would, with a temporary data folder.</summary>
public static class Gateway
{
    public const string MasterKey = "sk-bench-master-key-0123456789";

    /// <summary>Arguments for a gateway with provider <c>bench</c> (and <c>paced</c>) and aliases <c>fast</c>/<c>paced</c>.</summary>
    public static List<string> Arguments(string dll, int port, string dataDir, string modelsDir, string upstream, string? pacedUpstream)
    {
        var args = new List<string>
        {
            dll,
            $"--Sanjia:Urls=http://127.0.0.1:{port}",
            $"--Sanjia:DataDir={dataDir}",
            $"--Sanjia:ModelsDir={modelsDir}",
            $"--Sanjia:MasterKey={MasterKey}",
            "--Sanjia:Local:Embeddings=false",
            "--Sanjia:PresetsFromEnvironment=false",
            $"--Sanjia:Providers:bench:BaseUrl={upstream}/v1",
            "--Sanjia:Providers:bench:ApiKey=sk-upstream",
            "--Sanjia:Providers:bench:Models:0=fake",
            "--Sanjia:Models:fast:Deployments:0:Provider=bench",
            "--Sanjia:Models:fast:Deployments:0:Model=fake",
        };
        if (pacedUpstream is not null)
        {
            args.AddRange([
                $"--Sanjia:Providers:paced:BaseUrl={pacedUpstream}/v1",
                "--Sanjia:Providers:paced:ApiKey=sk-upstream",
                "--Sanjia:Providers:paced:Models:0=fake",
                "--Sanjia:Models:paced:Deployments:0:Provider=paced",
                "--Sanjia:Models:paced:Deployments:0:Model=fake",
            ]);
        }
        return args;
    }

    /// <summary>
    /// The command that starts a gateway: <c>dotnet</c> with its arguments and the extra settings; extra tokens of the
    /// form <c>NAME=value</c> (no leading <c>--</c>) are environment variables, for what the gateway reads only from
    /// there or by the standard names (<c>OTEL_EXPORTER_OTLP_ENDPOINT={upstream}</c>), and go through <c>env</c>.
    /// </summary>
    public static (string File, List<string> Args) Command(IEnumerable<string> arguments, IEnumerable<string> extra)
    {
        var settings = extra.Where(t => t.StartsWith("--", StringComparison.Ordinal)).ToList();
        var environment = extra.Where(t => !t.StartsWith("--", StringComparison.Ordinal)).ToList();
        return environment.Count == 0
            ? ("dotnet", [.. arguments, .. settings])
            : ("env", [.. environment, "dotnet", .. arguments, .. settings]);
    }

    public static byte[] ChatBody(string model) =>
        Encoding.UTF8.GetBytes($$"""{"model":"{{model}}","messages":[{"role":"user","content":"Say hello to the benchmark."}]}""");

    /// <summary>Polls with a non-streaming chat request until one succeeds; returns when it did.</summary>
    public static async Task<bool> WaitForChatAsync(HttpClient client, string baseUrl, string model, TimeSpan timeout, Child? child = null)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var body = ChatBody(model);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (child?.HasExited == true) return false;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/v1/chat/completions") { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
                using var response = await client.SendAsync(request).ConfigureAwait(false);
                if (response.IsSuccessStatusCode) return true;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(5).ConfigureAwait(false);
        }
        return false;
    }

    /// <summary>Spawn → first successful chat request, <paramref name="repeats"/> times; returns the times in ms.</summary>
    /// <param name="extra">The run's --gateway-args or --baseline-args, so that start-up is measured with the settings the rest of the run used.</param>
    public static async Task<List<double>> MeasureStartupAsync(string dll, string upstream, int repeats, string workDir, int? cpu, IReadOnlyList<string>? extra = null)
    {
        var times = new List<double>();
        for (var i = 0; i < repeats; i++)
        {
            var dir = Directory.CreateDirectory(Path.Combine(workDir, $"startup-{i}")).FullName;
            var models = Directory.CreateDirectory(Path.Combine(dir, "models")).FullName;
            var port = Proc.FreePort();
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(1) });
            var started = Stopwatch.GetTimestamp();
            var (file, args) = Command(Arguments(dll, port, Path.Combine(dir, "data"), models, upstream, null), extra ?? []);
            using var child = Child.Start(file, args, Path.Combine(dir, "gateway.log"), cpu, dir);
            var ok = await WaitForChatAsync(client, $"http://127.0.0.1:{port}", "fast", TimeSpan.FromSeconds(30), child).ConfigureAwait(false);
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (!ok) throw new InvalidOperationException($"The gateway did not serve a request within 30 s; see {child.Log}.");
            times.Add(ms);
        }
        return times;
    }
}
