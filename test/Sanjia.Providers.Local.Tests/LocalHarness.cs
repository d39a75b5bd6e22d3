using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;

namespace Sanjia.Providers.Local.Tests;

/// <summary>A <c>local</c> provider over the test model with the given limits, plus helpers to call it as the engine would.</summary>
internal sealed class LocalHarness : IDisposable
{
    private readonly LocalProviderSource _source = new();
    private int _requests;

    public LocalHarness(Action<LocalOptions>? configure = null, bool embeddings = false)
    {
        Options = new SanjiaOptions { ModelsDir = "", ModelFiles = [TestModel.Path] };
        Options.Local.Embeddings = embeddings;
        Options.Local.Threads = 1;
        configure?.Invoke(Options.Local);
        var errors = new ConfigErrors();
        Provider = (LocalProvider)_source.Create(Options, errors).Single();
        Assert.False(errors.Any, string.Join("\n", errors.Errors));
    }

    public SanjiaOptions Options { get; }

    public LocalProvider Provider { get; }

    public IChatBackend Chat => Provider.Chat!;

    public static string Body(object request) => JsonSerializer.Serialize(request);

    /// <summary>A request body for the test model: one user message plus the given fields.</summary>
    public static string Request(string content = "Once upon a time", Dictionary<string, object?>? extra = null, string model = "local/" + TestModel.Name)
    {
        var body = new Dictionary<string, object?>
        {
            ["model"] = model,
            ["messages"] = new[] { new { role = "user", content } },
        };
        foreach (var (k, v) in extra ?? [])
        {
            body[k] = v;
        }
        return JsonSerializer.Serialize(body);
    }

    public ChatCall Call(string body, string upstreamModel = TestModel.Name)
    {
        var (request, error) = ChatRequestParser.Parse(Encoding.UTF8.GetBytes(body));
        Assert.True(error is null, error?.Message);
        return new ChatCall(request!, upstreamModel, $"req-{Interlocked.Increment(ref _requests)}");
    }

    public ValueTask<ChatOutcome> ChatAsync(string body, CancellationToken cancellationToken = default) =>
        Chat.ChatAsync(Call(body), cancellationToken);

    /// <summary>A non-streaming answer: the parsed body and its usage.</summary>
    public async Task<(JsonElement Json, TokenUsage Usage)> CompleteAsync(string body, CancellationToken cancellationToken = default)
    {
        var outcome = await ChatAsync(body, cancellationToken);
        Assert.True(outcome.IsSuccess, outcome.Error?.Message);
        var complete = Assert.IsType<CompleteChatResponse>(outcome.Response);
        return (JsonDocument.Parse(complete.Body).RootElement.Clone(), complete.Usage);
    }

    public async Task<StreamingChatResponse> StreamAsync(string body, CancellationToken cancellationToken = default)
    {
        var outcome = await ChatAsync(body, cancellationToken);
        Assert.True(outcome.IsSuccess, outcome.Error?.Message);
        return Assert.IsAssignableFrom<StreamingChatResponse>(outcome.Response);
    }

    /// <summary>Reads a stream to its end and disposes it.</summary>
    public static async Task<(List<JsonElement> Chunks, TokenUsage Usage)> ReadAllAsync(StreamingChatResponse stream)
    {
        var chunks = new List<JsonElement>();
        await using (stream)
        {
            while (await stream.MoveNextAsync(CancellationToken.None))
            {
                chunks.Add(JsonDocument.Parse(stream.Current).RootElement.Clone());
            }
        }
        return (chunks, stream.Usage);
    }

    public static string Content(JsonElement completion) =>
        completion.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;

    public static string FinishReason(JsonElement completion) =>
        completion.GetProperty("choices")[0].GetProperty("finish_reason").GetString()!;

    /// <summary>The text of the content chunks of a stream, joined.</summary>
    public static string StreamedText(IEnumerable<JsonElement> chunks) =>
        string.Concat(chunks
            .Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
            .Select(d => d.TryGetProperty("content", out var text) ? text.GetString() : ""));

    public void Dispose() => _source.Dispose();
}
