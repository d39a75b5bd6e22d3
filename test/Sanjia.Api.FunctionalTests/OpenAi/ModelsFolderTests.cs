using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Api.FunctionalTests.OpenAi;

/// <summary>
/// The models folder is watched: a GGUF copied into it (a subfolder here) while the gateway runs is listed by
/// <c>/v1/models</c> and answers a chat completion without a restart, and removing it takes it away again.
/// </summary>
public sealed class ModelsFolderTests : IAsyncLifetime
{
    /// <summary>The debounce is under a second; this is the bound for a noisy 2-core machine.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private GatewayServer _gateway = null!;

    public async Task InitializeAsync() => _gateway = await GatewayServer.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    private string ModelsDir => Path.Combine(_gateway.DataDir, "models");

    private async Task<List<string>> ModelIdsAsync()
    {
        var json = await _gateway.Http.GetStringAsync("/v1/models");
        OpenApiSpec.AssertValid("ListModelsResponse", json);
        return JsonDocument.Parse(json).RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToList();
    }

    private async Task WaitForAsync(Func<List<string>, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition(await ModelIdsAsync()))
        {
            Assert.True(DateTime.UtcNow < deadline, $"/v1/models did not change within {Patience.TotalSeconds} s: {what}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_model_copied_into_the_folder_is_served_without_a_restart_and_gone_once_removed()
    {
        Assert.DoesNotContain("local/tiny-story", await ModelIdsAsync());
        var sub = Directory.CreateDirectory(Path.Combine(ModelsDir, "tinyllamas")).FullName;
        // A download in progress is not a model.
        await File.WriteAllBytesAsync(Path.Combine(sub, "tiny-story.gguf.part"), TestModel.Content.AsMemory(0, 1000).ToArray());
        File.Copy(TestModel.Path, Path.Combine(sub, "tiny-story.gguf"));

        await WaitForAsync(ids => ids.Contains("local/tiny-story"), "the copied model never appeared");
        Assert.DoesNotContain(await ModelIdsAsync(), id => id.EndsWith(".part", StringComparison.Ordinal));

        using var response = await _gateway.Http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "local/tiny-story",
            max_tokens = 8,
            messages = new[] { new { role = "user", content = "Once upon a time" } },
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        OpenApiSpec.AssertValid("CreateChatCompletionResponse", body);
        Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));

        File.Delete(Path.Combine(sub, "tiny-story.gguf"));
        await WaitForAsync(ids => !ids.Contains("local/tiny-story"), "the removed model stayed");
        using var gone = await _gateway.Http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "local/tiny-story",
            messages = new[] { new { role = "user", content = "Once upon a time" } },
        });
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }
}
