using System.Net;
using System.Text;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;

namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>
/// <c>count_tokens</c> on a local model counts with the model's own tokenizer over the templated prompt, so it says
/// what the answer's usage says (it used to give the o200k estimate with OpenAI's framing overhead: 9 against 4).
/// </summary>
public sealed class CountTokensTests
{
    [Theory]
    [InlineData("""{"model":"local/stories260K","max_tokens":4,"messages":[{"role":"user","content":"Once upon a time"}]}""")]
    [InlineData("""{"model":"local/stories260K","max_tokens":4,"system":"Tell a story.","messages":[{"role":"user","content":"Once upon a time"},{"role":"assistant","content":"there was"},{"role":"user","content":"a dog"}]}""")]
    public async Task Count_tokens_on_a_local_model_equals_the_usage_of_the_same_message(string body)
    {
        await using var gateway = await GatewayServer.StartWithArgsAsync($"--Sanjia:ModelFiles:0={TestModel.Path}");

        async Task<JsonElement> PostAsync(string path)
        {
            using var response = await gateway.Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {text}");
            return JsonDocument.Parse(text).RootElement.Clone();
        }

        var counted = (await PostAsync("/v1/messages/count_tokens")).GetProperty("input_tokens").GetInt32();
        var used = (await PostAsync("/v1/messages")).GetProperty("usage").GetProperty("input_tokens").GetInt32();

        Assert.Equal(used, counted);
    }
}
