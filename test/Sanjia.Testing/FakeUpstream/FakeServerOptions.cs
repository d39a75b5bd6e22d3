namespace Sanjia.Testing.FakeUpstream;

/// <summary>How a <see cref="FakeOpenAiServer"/> answers when no behaviour is scripted.</summary>
public sealed class FakeServerOptions
{
    /// <summary>The key callers must send as <c>Authorization: Bearer</c>. A random one is made when null.</summary>
    public string? ApiKey { get; init; }

    /// <summary>
    /// Play Azure OpenAI instead: routes <c>/openai/deployments/{deployment}/chat/completions|embeddings?api-version=…</c>
    /// (api-version required) and <c>/openai/v1/chat/completions|embeddings</c>, key in the <c>api-key</c> header.
    /// </summary>
    public bool Azure { get; init; }

    /// <summary>
    /// With <see cref="Azure"/>: the deployments that exist. Others get Azure's 404 <c>DeploymentNotFound</c>, whether
    /// named in the path (<c>/openai/deployments/{name}/…</c>) or, on the v1 API, as the body's <c>model</c> (documented:
    /// "the model parameter is your deployment name"). Null accepts any name.
    /// </summary>
    public IReadOnlyList<string>? AzureDeployments { get; init; }

    /// <summary>The default assistant reply; <c>{model}</c> is replaced by the model the request named.</summary>
    public string Reply { get; init; } = "Hello from {model}";

    /// <summary>The pause between streamed chunks when a behaviour does not set its own.</summary>
    public TimeSpan ChunkDelay { get; init; } = TimeSpan.Zero;

    /// <summary>The ids listed by <c>GET /v1/models</c>.</summary>
    public IReadOnlyList<string> Models { get; init; } = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"];

    /// <summary>Vector length for embeddings when the request does not ask for <c>dimensions</c>.</summary>
    public int EmbeddingDimensions { get; init; } = 8;

    /// <summary>Sent as <c>system_fingerprint</c>; null leaves the field out (it is optional and deprecated).</summary>
    public string? SystemFingerprint { get; init; } = "fp_fake0001";
}
