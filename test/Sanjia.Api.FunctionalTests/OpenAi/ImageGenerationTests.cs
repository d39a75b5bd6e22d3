using System.ClientModel;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI;
using OpenAI.Images;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeStableDiffusion;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Api.FunctionalTests.OpenAi;

/// <summary>
/// <c>POST /v1/images/generations</c> end to end: the official OpenAI SDK's <see cref="ImageClient"/> against the
/// gateway, in front of a fake OpenAI image vendor and a fake AUTOMATIC1111 server; every answer checked against
/// OpenAI's <c>ImagesResponse</c> schema and every request the vendor got against <c>CreateImageRequest</c>.
/// </summary>
public sealed class ImageGenerationTests
{
    /// <summary>The fake vendor as provider <c>openai</c>, so the catalogue's OpenAI image prices apply.</summary>
    private static string[] OpenAiProvider(FakeOpenAiServer upstream, string name = "openai") => GatewayServer.Provider(name, upstream.BaseUrl, upstream.ApiKey);

    private static ImageClient Client(GatewayServer gw, string model, string? key = null) =>
        new(model, new ApiKeyCredential(key ?? GatewayServer.MasterKey), new OpenAIClientOptions
        {
            Endpoint = new Uri(gw.BaseUrl + "/v1"),
            RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0),
        });

    private static void AssertVendorGotAValidRequest(RecordedRequest request)
    {
        Assert.Equal("/v1/images/generations", request.Path);
        OpenApiSpec.AssertValid("CreateImageRequest", request.Body);
    }

    [Fact]
    public async Task The_OpenAI_SDK_gets_b64_json_images_and_the_call_is_metered_per_image()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(OpenAiProvider(upstream));

        var image = (await Client(gw, "openai/dall-e-3").GenerateImageAsync("A lighthouse at dawn", new ImageGenerationOptions
        {
            ResponseFormat = GeneratedImageFormat.Bytes,
            Size = GeneratedImageSize.W1024xH1024,
        })).Value;

        Assert.Equal(Convert.FromBase64String(FakeOpenAiServer.ImagePng), image.ImageBytes.ToArray());
        var sent = Assert.Single(upstream.Requests);
        AssertVendorGotAValidRequest(sent);
        using (var body = JsonDocument.Parse(sent.Body))
        {
            Assert.Equal("dall-e-3", body.RootElement.GetProperty("model").GetString());
            Assert.Equal("b64_json", body.RootElement.GetProperty("response_format").GetString());
        }
        var row = Assert.Single(await gw.LedgerAsync(1), r => r.Endpoint == "/v1/images/generations");
        Assert.Equal(200, row.Status);
        Assert.Equal("openai/dall-e-3", row.Deployment);
        Assert.Equal(0.04m, row.Cost); // one standard 1024x1024 image
        Assert.Equal("USD", row.Currency);
    }

    [Fact]
    public async Task Two_images_without_a_response_format_come_back_as_b64_json_priced_twice_with_the_cost_headers()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(OpenAiProvider(upstream));

        using var response = await gw.Http.PostAsJsonAsync("/v1/images/generations", new { model = "openai/dall-e-2", prompt = "Two cats", n = 2, size = "512x512" });

        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        OpenApiSpec.AssertValid("ImagesResponse", text);
        using var doc = JsonDocument.Parse(text);
        var data = doc.RootElement.GetProperty("data");
        Assert.Equal(2, data.GetArrayLength());
        Assert.All(data.EnumerateArray(), d => Assert.Equal(FakeOpenAiServer.ImagePng, d.GetProperty("b64_json").GetString()));
        // The vendor's default is a URL; the gateway, which stores no images, asked for base64.
        using (var sent = JsonDocument.Parse(Assert.Single(upstream.Requests).Body))
        {
            Assert.Equal("b64_json", sent.RootElement.GetProperty("response_format").GetString());
        }
        AssertVendorGotAValidRequest(upstream.Requests[0]);
        Assert.Equal("0.036", response.Headers.GetValues("x-sanjia-cost").Single());
        Assert.Equal("USD", response.Headers.GetValues("x-sanjia-cost-currency").Single());
        Assert.Equal("openai/dall-e-2", response.Headers.GetValues("x-sanjia-deployment").Single());
        var row = Assert.Single(await gw.LedgerAsync(1), r => r.Endpoint == "/v1/images/generations");
        Assert.Equal(0.036m, row.Cost);
    }

    [Fact]
    public async Task A_gpt_image_answer_is_charged_on_the_tokens_it_reports_and_response_format_is_not_added()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(OpenAiProvider(upstream));

        using var response = await gw.Http.PostAsJsonAsync("/v1/images/generations", new { model = "openai/gpt-image-1", prompt = "A red bicycle", quality = "low", size = "1024x1024" });

        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        OpenApiSpec.AssertValid("ImagesResponse", text);
        AssertVendorGotAValidRequest(Assert.Single(upstream.Requests));
        using var doc = JsonDocument.Parse(text);
        var usage = doc.RootElement.GetProperty("usage");
        var input = usage.GetProperty("input_tokens").GetInt32();
        Assert.Equal(272, usage.GetProperty("output_tokens").GetInt32());
        var row = Assert.Single(await gw.LedgerAsync(1), r => r.Endpoint == "/v1/images/generations");
        Assert.Equal(input, row.Usage.Input);
        Assert.Equal(272, row.Usage.Output);
        Assert.Equal(((input * 5m) + (272 * 40m)) / 1_000_000m, row.Cost);
    }

    [Fact]
    public async Task A_failing_image_deployment_falls_back_to_the_next_and_an_unpriced_model_stays_unpriced()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        a.Enqueue(FakeBehavior.Status(500));
        await using var gw = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.FastRetries,
            .. OpenAiProvider(a, "a"), .. OpenAiProvider(b, "b"),
            .. GatewayServer.Deployment("img", 0, "a", "dall-e-3"),
            .. GatewayServer.Deployment("img", 1, "b", "dall-e-3"),
        ]);

        var image = (await Client(gw, "img").GenerateImageAsync("A harbour", new ImageGenerationOptions { ResponseFormat = GeneratedImageFormat.Bytes })).Value;

        Assert.NotEmpty(image.ImageBytes.ToArray());
        Assert.Single(a.Requests);
        Assert.Single(b.Requests);
        var row = Assert.Single(await gw.LedgerAsync(1), r => r.Endpoint == "/v1/images/generations");
        Assert.Equal(200, row.Status);
        Assert.Equal("b/dall-e-3", row.Deployment);
        Assert.Equal(2, row.Attempt);
        Assert.Null(row.Cost); // 'a' and 'b' are not in the catalogue: no price is invented
    }

    [Fact]
    public async Task A_budget_holds_the_worst_case_refuses_what_it_cannot_cover_and_settles_the_real_cost()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(OpenAiProvider(upstream));
        var (_, secret) = await gw.CreateKeyAsync(new { name = "artist", budget = new { amount = "0.1", currency = "USD", period = "total" } });
        var client = Client(gw, "openai/dall-e-3", secret);

        // An HD 1792x1024 image costs 0.12: more than the whole budget, refused before the vendor is called.
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => client.GenerateImageAsync("A wide valley",
            new ImageGenerationOptions { ResponseFormat = GeneratedImageFormat.Bytes, Quality = GeneratedImageQuality.High, Size = GeneratedImageSize.W1792xH1024 }));
        Assert.Equal(429, refused.Status);
        Assert.Contains("budget_exceeded", refused.GetRawResponse()!.Content.ToString());
        Assert.Empty(upstream.Requests);

        // Two standard images (0.04 each) fit; the third finds 0.02 left.
        var standard = new ImageGenerationOptions { ResponseFormat = GeneratedImageFormat.Bytes, Size = GeneratedImageSize.W1024xH1024 };
        await client.GenerateImageAsync("One", standard);
        await client.GenerateImageAsync("Two", standard);
        var third = await Assert.ThrowsAsync<ClientResultException>(() => client.GenerateImageAsync("Three", standard));
        Assert.Equal(429, third.Status);
        Assert.Equal(2, upstream.Requests.Count);
        var rows = (await gw.LedgerAsync(4)).Where(r => r.Endpoint == "/v1/images/generations").ToList();
        Assert.Equal(0.08m, rows.Where(r => r.Status == 200).Sum(r => r.Cost ?? 0));
    }

    [Fact]
    public async Task The_callers_timeout_header_cuts_a_late_image_vendor_and_the_call_falls_back()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        a.Enqueue(FakeBehavior.Default with { HeaderDelay = TimeSpan.FromSeconds(20) });
        await using var gw = await GatewayServer.StartWithArgsAsync(
        [
            .. OpenAiProvider(a, "a"), .. OpenAiProvider(b, "b"),
            .. GatewayServer.Deployment("img", 0, "a", "dall-e-2"),
            .. GatewayServer.Deployment("img", 1, "b", "dall-e-2"),
        ]);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/images/generations") { Content = JsonContent.Create(new { model = "img", prompt = "A kite" }) };
        request.Headers.Add("x-sanjia-timeout", "1");
        var clock = System.Diagnostics.Stopwatch.StartNew();

        using var response = await gw.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.Equal("a/dall-e-2(timeout) -> b/dall-e-2(ok)", response.Headers.GetValues("x-sanjia-route").Single());
        OpenApiSpec.AssertValid("ImagesResponse", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_listed_image_model_sent_to_chat_is_a_400_pointing_to_the_image_route()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync([.. OpenAiProvider(upstream), "--Sanjia:Providers:openai:ImageModels:0=dall-e-3"]);

        using var response = await gw.Http.PostAsync("/v1/chat/completions", GatewayServer.ChatBody("openai/dall-e-3"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("/v1/images/generations", await response.Content.ReadAsStringAsync());
        Assert.Empty(upstream.Requests);
    }

    [Theory]
    [InlineData("""{"model":"openai/dall-e-3","prompt":"x","response_format":"url"}""", "response_format")]
    [InlineData("""{"model":"openai/gpt-image-1","prompt":"x","stream":true}""", "stream")]
    [InlineData("""{"model":"openai/dall-e-3","prompt":"x","n":11}""", "n")]
    [InlineData("""{"model":"openai/dall-e-3"}""", "prompt")]
    public async Task Options_the_gateway_does_not_serve_are_a_400_naming_them_and_never_reach_the_vendor(string body, string param)
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(OpenAiProvider(upstream));

        using var response = await gw.Http.PostAsync("/v1/images/generations", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains(param, error.GetProperty("message").GetString());
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task A_stable_diffusion_server_gets_size_and_n_translated_and_its_images_come_back_in_openai_format()
    {
        await using var sd = await FakeStableDiffusionServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(
        [
            "--Sanjia:Providers:sd:Type=sdapi", $"--Sanjia:Providers:sd:BaseUrl={sd.BaseUrl}", "--Sanjia:Providers:sd:Steps=20",
            "--Sanjia:Providers:sd:Models:0=sdxl-base",
            "--Sanjia:Metering:Prices:sd/sdxl-base:PerImage:*=0.002",
        ]);

        var images = (await Client(gw, "sd/sdxl-base").GenerateImagesAsync("A fox in snow", 3, new ImageGenerationOptions
        {
            ResponseFormat = GeneratedImageFormat.Bytes,
            Size = new GeneratedImageSize(768, 512),
        })).Value;

        Assert.Equal(3, images.Count);
        Assert.All(images, i => Assert.Equal(Convert.FromBase64String(FakeStableDiffusionServer.Png), i.ImageBytes.ToArray()));
        var sent = Assert.Single(sd.Requests);
        Assert.Equal("A fox in snow", (string?)sent["prompt"]);
        Assert.Equal(768, (int?)sent["width"]);
        Assert.Equal(512, (int?)sent["height"]);
        Assert.Equal(3, (int?)sent["batch_size"]);
        Assert.Equal(1, (int?)sent["n_iter"]);
        Assert.Equal(20, (int?)sent["steps"]);
        Assert.Equal("sdxl-base", (string?)sent["override_settings"]?["sd_model_checkpoint"]);
        var row = Assert.Single(await gw.LedgerAsync(1), r => r.Endpoint == "/v1/images/generations");
        Assert.Equal("sd/sdxl-base", row.Deployment);
        Assert.Equal(0.006m, row.Cost); // 3 images at the configured 0.002
    }

    [Fact]
    public async Task A_stable_diffusion_answer_is_a_valid_images_response_without_the_grid_and_unpriced_without_a_configured_price()
    {
        await using var sd = await FakeStableDiffusionServer.StartAsync();
        sd.ReturnGrid = true;
        sd.FailNext(500);
        await using var gw = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.FastRetries,
            "--Sanjia:Providers:sd:Type=sdapi", $"--Sanjia:Providers:sd:BaseUrl={sd.BaseUrl}",
        ]);

        using var response = await gw.Http.PostAsJsonAsync("/v1/images/generations", new { model = "sd/default", prompt = "A tree", n = 2 });

        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        OpenApiSpec.AssertValid("ImagesResponse", text);
        using var doc = JsonDocument.Parse(text);
        Assert.All(doc.RootElement.GetProperty("data").EnumerateArray(), d => Assert.Equal(FakeStableDiffusionServer.Png, d.GetProperty("b64_json").GetString()));
        Assert.Equal(2, doc.RootElement.GetProperty("data").GetArrayLength());
        Assert.Equal(2, sd.Requests.Count); // the 500 was retried
        Assert.Null(sd.Requests[1]["override_settings"]); // 'default': whatever checkpoint the server has loaded
        Assert.Null(sd.Requests[1]["width"]); // no size: the server's default
        Assert.Equal("unpriced", response.Headers.GetValues("x-sanjia-cost").Single());
        var row = Assert.Single(await gw.LedgerAsync(1), r => r.Endpoint == "/v1/images/generations" && r.Status == 200);
        Assert.Null(row.Cost);
    }
}
