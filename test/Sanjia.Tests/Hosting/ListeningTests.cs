using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Sanjia.Hosting;

namespace Sanjia.Tests.Hosting;

/// <summary>Where and how the gateway listens: TLS from Kestrel's certificate settings, proxies, the root page, the banner.</summary>
public sealed class ListeningTests : IDisposable
{
    private const string Key = "sk-listening-test-0123456789abcdef";
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-listen-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private WebApplication Build(params string[] args) => GatewayApp.Build(
    [
        $"--Sanjia:DataDir={Path.Combine(_dir, "data")}", $"--Sanjia:MasterKey={Key}",
        "--Sanjia:PresetsFromEnvironment=false", "--Sanjia:Local:Embeddings=false", "--Logging:LogLevel:Default=Warning", .. args,
    ]);

    [Fact]
    public async Task Serves_https_with_the_certificate_from_Kestrel_settings()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var pfx = Path.Combine(_dir, "gateway.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "test-password"));

        await using var app = Build("--Sanjia:Urls=https://127.0.0.1:0",
            $"--Kestrel:Certificates:Default:Path={pfx}", "--Kestrel:Certificates:Default:Password=test-password");
        await app.StartAsync();
        var url = GatewayApp.Addresses(app).Single();
        Assert.StartsWith("https://127.0.0.1:", url, StringComparison.Ordinal);

        string? seen = null;
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) => (seen = cert?.Thumbprint) == certificate.Thumbprint,
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(url) };
        using var response = await http.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(certificate.Thumbprint, seen);
    }

    [Fact]
    public async Task The_root_page_answers_without_a_key_with_name_version_and_links()
    {
        await using var app = Build("--Sanjia:Urls=http://127.0.0.1:0");
        await app.StartAsync();
        var url = GatewayApp.Addresses(app).Single();
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        using var response = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Sanjia", root.GetProperty("name").GetString());
        Assert.Equal(Sanjia.Cli.SanjiaCli.Version, root.GetProperty("version").GetString());
        Assert.Equal($"{url}/v1/models", root.GetProperty("links").GetProperty("models").GetString());
        Assert.Equal($"{url}/health/ready", root.GetProperty("links").GetProperty("health").GetString());

        // Still only the root: every other route keeps needing a key.
        using var models = await http.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
    }

    [Theory]
    [InlineData(false, "http://127.0.0.1:")]
    [InlineData(true, "https://gateway.example.com/v1/models")]
    public async Task Forwarded_headers_are_applied_only_when_enabled(bool enabled, string expectedPrefix)
    {
        await using var app = Build("--Sanjia:Urls=http://127.0.0.1:0", $"--Sanjia:ForwardedHeaders:Enabled={enabled}");
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(GatewayApp.Addresses(app).Single()) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("X-Forwarded-Proto", "https");
        request.Headers.Add("X-Forwarded-Host", "gateway.example.com");
        request.Headers.Add("X-Forwarded-For", "203.0.113.7");
        using var response = await http.SendAsync(request);
        var models = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("links").GetProperty("models").GetString();
        Assert.StartsWith(expectedPrefix, models, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forwarded_headers_from_a_proxy_not_listed_are_ignored()
    {
        // Loopback is the client here; trusting only 10.0.0.1 must leave the request as it came.
        await using var app = Build("--Sanjia:Urls=http://127.0.0.1:0", "--Sanjia:ForwardedHeaders:Enabled=true",
            "--Sanjia:ForwardedHeaders:KnownProxies:0=10.0.0.1", "--Sanjia:ForwardedHeaders:KnownNetworks:0=10.1.0.0/16");
        await app.StartAsync();
        var url = GatewayApp.Addresses(app).Single();
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("X-Forwarded-Proto", "https");
        request.Headers.Add("X-Forwarded-Host", "gateway.example.com");
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal($"{url}/v1/models", JsonDocument.Parse(body).RootElement.GetProperty("links").GetProperty("models").GetString());
    }

    [Fact]
    public async Task A_bind_to_every_interface_warns_naming_the_address_unless_silenced()
    {
        await using (var app = Build("--host", "0.0.0.0", "--port", "0"))
        {
            await app.StartAsync();
            using var error = new StringWriter();
            Banner.WarnIfReachable(app, error);
            var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.Matches(@"^warning: listening on http://0\.0\.0\.0:\d+: the gateway is reachable from the network", lines[0]);
            Assert.Contains("Sanjia__NetworkWarning=false", lines[1], StringComparison.Ordinal);
        }
        await using (var app = Build("--host", "0.0.0.0", "--port", "0", "--Sanjia:NetworkWarning=false"))
        {
            await app.StartAsync();
            using var error = new StringWriter();
            Banner.WarnIfReachable(app, error);
            Assert.Empty(error.ToString());
        }
        await using (var app = Build("--port", "0"))
        {
            await app.StartAsync();
            using var error = new StringWriter();
            Banner.WarnIfReachable(app, error);
            Assert.Empty(error.ToString());
        }
    }

    [Fact]
    public async Task A_generated_key_is_printed_to_a_terminal_only_and_the_banner_says_how_to_get_a_chat_model()
    {
        var data = Path.Combine(_dir, "generated");
        await using var app = GatewayApp.Build([$"--Sanjia:DataDir={data}", "--Sanjia:Urls=http://127.0.0.1:0",
            "--Sanjia:PresetsFromEnvironment=false", "--Sanjia:Local:Embeddings=false"]);
        await app.StartAsync();
        var keyFile = Path.Combine(data, "master.key");
        var key = (await File.ReadAllTextAsync(keyFile)).Trim();

        using var log = new StringWriter();
        Banner.Print(app, log, interactive: false);
        Assert.DoesNotContain(key, log.ToString(), StringComparison.Ordinal);
        Assert.Contains($"stored in {keyFile}; not printed", log.ToString(), StringComparison.Ordinal);
        Assert.Contains("(no chat model yet)", log.ToString(), StringComparison.Ordinal);
        Assert.Contains("sanjia models pull ", log.ToString(), StringComparison.Ordinal);

        using var terminal = new StringWriter();
        Banner.Print(app, terminal, interactive: true);
        Assert.Contains(key, terminal.ToString(), StringComparison.Ordinal);
    }
}
