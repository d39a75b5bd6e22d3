using Microsoft.Extensions.DependencyInjection;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;

namespace Sanjia.Providers.Local.Tests;

public sealed class LocalProviderSourceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-local-").FullName;
    private readonly LocalProviderSource _source = new();

    public void Dispose()
    {
        _source.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Serves_each_gguf_in_the_models_folder_and_the_embedding_model()
    {
        File.CreateSymbolicLink(Path.Combine(_dir, "tiny.gguf"), TestModel.Path);
        File.WriteAllText(Path.Combine(_dir, "notes.txt"), "not a model");
        var errors = new ConfigErrors();

        var provider = Assert.Single(_source.Create(new SanjiaOptions { ModelsDir = _dir }, errors));

        Assert.False(errors.Any);
        Assert.Equal("local", provider.Name);
        Assert.False(provider.AcceptsUnlistedModels);
        Assert.Equal([("tiny", ModelKind.Chat), ("all-minilm-l6-v2", ModelKind.Embedding)], provider.Models);
        Assert.NotNull(provider.Chat);
        Assert.NotNull(provider.Embeddings);
        Assert.Contains(_dir, provider.Describe);
        Assert.Contains("tiny", provider.Describe);
    }

    [Fact]
    public void Model_files_are_named_after_the_file_and_described_by_path()
    {
        var options = new SanjiaOptions { ModelsDir = Path.Combine(_dir, "missing"), ModelFiles = [TestModel.Path] };
        options.Local.Embeddings = false;

        var provider = Assert.Single(_source.Create(options, new ConfigErrors()));

        Assert.Equal([(TestModel.Name, ModelKind.Chat)], provider.Models);
        Assert.Null(provider.Embeddings);
        Assert.Contains(TestModel.Path, provider.Describe);
    }

    [Fact]
    public void Nothing_to_serve_means_no_provider()
    {
        var options = new SanjiaOptions { ModelsDir = _dir };
        options.Local.Embeddings = false;

        Assert.Empty(_source.Create(options, new ConfigErrors()));
    }

    [Fact]
    public void A_missing_model_file_is_a_configuration_error_naming_its_path()
    {
        var options = new SanjiaOptions { ModelsDir = _dir, ModelFiles = [TestModel.Path, Path.Combine(_dir, "gone.gguf")] };
        var errors = new ConfigErrors();

        _source.Create(options, errors);

        var error = Assert.Single(errors.Errors);
        Assert.StartsWith("Sanjia:ModelFiles:1", error);
    }

    [Fact]
    public void Two_files_with_one_name_are_a_configuration_error()
    {
        File.CreateSymbolicLink(Path.Combine(_dir, TestModel.Name + ".gguf"), TestModel.Path);
        var other = Directory.CreateTempSubdirectory("sanjia-local-other-").FullName;
        try
        {
            File.CreateSymbolicLink(Path.Combine(other, TestModel.Name + ".gguf"), TestModel.Path);
            var errors = new ConfigErrors();

            _source.Create(new SanjiaOptions { ModelsDir = _dir, ModelFiles = [Path.Combine(other, TestModel.Name + ".gguf")] }, errors);

            Assert.StartsWith("Sanjia:ModelFiles:0", Assert.Single(errors.Errors));
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }

        // Two subfolders of the models folder, names differing only in case: refused, naming both files.
        var sub = Directory.CreateDirectory(Path.Combine(_dir, "sub")).FullName;
        File.CreateSymbolicLink(Path.Combine(sub, TestModel.Name.ToUpperInvariant() + ".gguf"), TestModel.Path);
        var folderErrors = new ConfigErrors();
        _source.Create(new SanjiaOptions { ModelsDir = _dir }, folderErrors);
        var error = Assert.Single(folderErrors.Errors);
        Assert.StartsWith("Sanjia:ModelsDir", error);
        Assert.Contains(Path.Combine("sub", TestModel.Name.ToUpperInvariant() + ".gguf"), error);
    }

    [Fact]
    public void Models_in_subfolders_are_served_and_partial_downloads_are_not()
    {
        var sub = Directory.CreateDirectory(Path.Combine(_dir, "tinyllamas")).FullName;
        File.CreateSymbolicLink(Path.Combine(sub, "stories.gguf"), TestModel.Path);
        File.WriteAllText(Path.Combine(_dir, "coming.gguf.part"), "half a download");
        var options = new SanjiaOptions { ModelsDir = _dir };
        options.Local.Embeddings = false;
        var errors = new ConfigErrors();

        var provider = Assert.Single(_source.Create(options, errors));

        Assert.False(errors.Any);
        Assert.Equal([("stories", ModelKind.Chat)], provider.Models);
        Assert.Contains($"stories from {_dir}", provider.Describe);
    }

    [Fact]
    public async Task A_model_removed_from_the_folder_refuses_new_requests_and_is_unloaded_when_its_running_stream_ends()
    {
        var file = Path.Combine(_dir, "tiny.gguf");
        File.Copy(TestModel.Path, file);
        var options = new SanjiaOptions { ModelsDir = _dir };
        options.Local.Embeddings = false;
        var provider = (LocalProvider)Assert.Single(_source.Create(options, new ConfigErrors()));
        var weights = Assert.Single(provider.ChatModels).Weights;
        var request = LocalHarness.Request(extra: new() { ["stream"] = true, ["max_tokens"] = 8 }, model: "local/tiny");
        var (parsed, _) = Sanjia.Core.Json.ChatRequestParser.Parse(System.Text.Encoding.UTF8.GetBytes(request));
        var outcome = await provider.Chat!.ChatAsync(new ChatCall(parsed!, "tiny", "req-1"), CancellationToken.None);
        var stream = Assert.IsAssignableFrom<StreamingChatResponse>(outcome.Response);
        Assert.True(await stream.MoveNextAsync(CancellationToken.None));

        File.Delete(file);
        Assert.Empty(_source.Create(options, new ConfigErrors())); // the rebuild a folder change triggers

        Assert.False(weights.IsUnloaded, "a running stream keeps its model");
        var late = await provider.Chat.ChatAsync(new ChatCall(parsed!, "tiny", "req-2"), CancellationToken.None);
        Assert.Equal(GatewayErrorKind.ModelNotFound, late.Error!.Kind);
        var (_, usage) = await LocalHarness.ReadAllAsync(stream);
        Assert.True(usage.Output > 0);
        Assert.True(weights.IsUnloaded, "freed when the last generation ended");
    }

    [Fact]
    public void The_registry_resolves_local_models_and_rejects_unlisted_ones()
    {
        var options = new SanjiaOptions { ModelsDir = "", ModelFiles = [TestModel.Path] };
        var errors = new ConfigErrors();
        var registry = new ModelRegistry(_source.Create(options, errors), options.Models, errors, DateTimeOffset.UnixEpoch);

        Assert.Equal(ModelKind.Chat, registry.Resolve("local/" + TestModel.Name)!.Kind);
        Assert.Equal(ModelKind.Embedding, registry.Resolve("local/all-minilm-l6-v2")!.Kind);
        Assert.Null(registry.Resolve("local/other"));
    }

    [Fact]
    public void Registered_in_dependency_injection_as_a_provider_source()
    {
        var services = new ServiceCollection().AddLogging().AddSanjiaLocalModels().AddSanjiaLocalModels();
        using var provider = services.BuildServiceProvider();

        Assert.IsType<LocalProviderSource>(Assert.Single(provider.GetServices<IProviderSource>()));
    }

    [Fact]
    public async Task A_file_that_is_not_a_model_fails_the_request_not_the_gateway()
    {
        var broken = Path.Combine(_dir, "broken.gguf");
        File.WriteAllText(broken, "this is not a GGUF file");
        var options = new SanjiaOptions { ModelsDir = _dir };
        options.Local.Embeddings = false;
        var chat = Assert.Single(_source.Create(options, new ConfigErrors())).Chat!;

        var (request, _) = Sanjia.Core.Json.ChatRequestParser.Parse("""{"model":"local/broken","messages":[{"role":"user","content":"hi"}]}"""u8.ToArray());
        var outcome = await chat.ChatAsync(new ChatCall(request!, "broken", "req"), CancellationToken.None);

        Assert.Equal(GatewayErrorKind.UpstreamFailed, outcome.Error!.Kind);
        Assert.Equal("model_load_failed", outcome.Error.Code);
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_rejected()
    {
        using var local = new LocalHarness(o => o.ContextSize = 64);
        var outcome = await local.ChatAsync(LocalHarness.Request(string.Join(' ', Enumerable.Repeat("The little dog ran to the park.", 30))));

        Assert.Equal(GatewayErrorKind.InvalidRequest, outcome.Error!.Kind);
        Assert.Equal("context_length_exceeded", outcome.Error.Code);
        Assert.Equal("messages", outcome.Error.Param);
    }

    [Fact]
    public async Task The_plain_fallback_sends_only_the_text()
    {
        using var chatml = new LocalHarness(o => o.FallbackTemplate = "chatml");
        using var plain = new LocalHarness(o => o.FallbackTemplate = "plain");
        var body = LocalHarness.Request("Once upon a time", new() { ["max_tokens"] = 1 });

        var chatmlPrompt = (await chatml.CompleteAsync(body)).Usage.Input;
        var plainPrompt = (await plain.CompleteAsync(body)).Usage.Input;

        // BOS plus the four words' pieces; the chatml markers add many more.
        Assert.InRange(plainPrompt, 2, 8);
        Assert.True(chatmlPrompt > plainPrompt + 10, $"chatml {chatmlPrompt}, plain {plainPrompt}");
    }

    [Fact]
    public async Task A_rebuilt_provider_shares_the_slots_of_the_one_it_replaces()
    {
        var options = new SanjiaOptions { ModelsDir = "", ModelFiles = [TestModel.Path] };
        options.Local.MaxConcurrency = 1;
        options.Local.MaxQueue = 0;
        options.Local.Embeddings = false;
        var before = Assert.Single(_source.Create(options, new ConfigErrors())).Chat!;
        var after = Assert.Single(_source.Create(options, new ConfigErrors())).Chat!;

        ChatCall Call(bool stream)
        {
            var body = LocalHarness.Request(extra: new() { ["max_tokens"] = 50, ["stream"] = stream });
            var (request, _) = Sanjia.Core.Json.ChatRequestParser.Parse(System.Text.Encoding.UTF8.GetBytes(body));
            return new ChatCall(request!, TestModel.Name, "req");
        }

        var held = await before.ChatAsync(Call(stream: true), CancellationToken.None);
        Assert.True(held.IsSuccess, held.Error?.Message);
        var busy = await after.ChatAsync(Call(stream: false), CancellationToken.None);
        Assert.Equal(GatewayErrorKind.Overloaded, busy.Error?.Kind);

        await held.Response!.DisposeAsync();
        var free = await after.ChatAsync(Call(stream: false), CancellationToken.None);
        Assert.True(free.IsSuccess, free.Error?.Message);
    }
}
