using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Sanjia.Tests.Hosting;

/// <summary>The README's run command, tried as a new user would: no configuration, a model in ./models, curl.</summary>
public sealed class GatewayProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Starts_on_defaults_serves_a_model_from_the_models_folder_and_keeps_its_key_out_of_a_redirected_output()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "models"));
        File.Copy(TestModel.Path, Path.Combine(_dir, "models", "stories260K.gguf"));

        string key;
        await using (var gateway = GatewayProcess.Start(_dir, "--port", "0"))
        {
            var url = await gateway.ListeningAsync();
            await WaitForBannerAsync(gateway, "Master key");
            var output = gateway.Output;
            Assert.Contains("local/stories260K", output, StringComparison.Ordinal);
            Assert.Contains("local/all-minilm-l6-v2", output, StringComparison.Ordinal);
            var keyFile = Path.Combine(_dir, "data", "master.key");
            key = File.ReadAllText(keyFile).Trim();
            // Output is redirected here, as under systemd or in a container: the key stays out of the log.
            Assert.Contains($"Master key generated and stored in {keyFile}; not printed", output, StringComparison.Ordinal);
            Assert.DoesNotContain(key, output, StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            }
            Assert.True(File.Exists(Path.Combine(_dir, "data", "sanjia.db")) || Directory.Exists(Path.Combine(_dir, "data")));

            using var http = new HttpClient { BaseAddress = new Uri(url) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = new StringContent("""{"model":"local/stories260K","stream":true,"max_tokens":16,"messages":[{"role":"user","content":"Once upon a time"}]}""", Encoding.UTF8, "application/json"),
            };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Contains("\"content\":", body, StringComparison.Ordinal);
            Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);

            using var embeddings = await http.PostAsync("/v1/embeddings", new StringContent("""{"model":"local/all-minilm-l6-v2","input":"hello"}""", Encoding.UTF8, "application/json"));
            var vector = JsonDocument.Parse(await embeddings.Content.ReadAsStringAsync()).RootElement.GetProperty("data")[0].GetProperty("embedding");
            Assert.Equal(384, vector.GetArrayLength());
        }

        // A second start reuses the stored key and does not print it.
        await using (var again = GatewayProcess.Start(_dir, "--port", "0"))
        {
            await again.ListeningAsync();
            await WaitForBannerAsync(again, "Master key");
            Assert.DoesNotContain(key, again.Output, StringComparison.Ordinal);
            Assert.Contains("Master key: from", again.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_bad_setting_stops_start_up_naming_its_path()
    {
        await using var gateway = GatewayProcess.Start(_dir, "--port", "0", "--Sanjia:Models:chat:Deployments:0:Provider=ghost", "--Sanjia:Models:chat:Deployments:0:Model=m");
        Assert.Equal(1, await gateway.WaitForExitAsync());
        Assert.Contains("Sanjia:Models:chat:Deployments:0:Provider: no provider named 'ghost'", gateway.Output, StringComparison.Ordinal);
    }

    private static async Task WaitForBannerAsync(GatewayProcess gateway, string text)
    {
        for (var i = 0; i < 200 && !gateway.Output.Contains(text, StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }
    }
}
