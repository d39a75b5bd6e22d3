using Sanjia.Core.Configuration;

namespace Sanjia.Providers.OpenAi;

/// <summary>
/// Azure OpenAI addressing: per-deployment URLs <c>{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…</c>,
/// or, with <c>ApiVersion: v1</c>, the version-less <c>{endpoint}/openai/v1/chat/completions</c> (model in the body).
/// The body is the same OpenAI body, forwarded byte for byte; the key goes in <c>api-key</c>.
/// </summary>
public sealed record AzureOpenAiSettings(Uri Endpoint, string ApiVersion, IReadOnlyDictionary<string, string> Deployments)
{
    /// <summary>The latest generally available data-plane API version at the time of writing.</summary>
    public const string DefaultApiVersion = "2024-10-21";

    public bool IsV1 => string.Equals(ApiVersion, "v1", StringComparison.OrdinalIgnoreCase);

    public string DeploymentFor(string model) => Deployments.TryGetValue(model, out var d) ? d : model;

    /// <summary>
    /// The body's <c>model</c>: on the v1 API it names the deployment (Microsoft: "the model parameter is your Azure
    /// deployment name"); on deployment URLs the deployment is in the path and the body keeps the model name.
    /// </summary>
    public string BodyModel(string model) => IsV1 ? DeploymentFor(model) : model;

    /// <param name="operation"><c>chat/completions</c> or <c>embeddings</c>.</param>
    public Uri UriFor(string model, string operation)
    {
        var endpoint = Endpoint.ToString().TrimEnd('/');
        return IsV1
            ? new Uri($"{endpoint}/openai/v1/{operation}")
            : new Uri($"{endpoint}/openai/deployments/{Uri.EscapeDataString(DeploymentFor(model))}/{operation}?api-version={Uri.EscapeDataString(ApiVersion)}");
    }

    /// <summary>Reads <c>Endpoint</c> (or <c>BaseUrl</c>), <c>ApiVersion</c> and <c>Deployments</c>; null with an error naming the key when unusable.</summary>
    public static AzureOpenAiSettings? From(ProviderOptions p, string path, ConfigErrors errors)
    {
        var endpoint = p.Endpoint ?? p.BaseUrl;
        if (endpoint is null)
        {
            errors.Add($"{path}:Endpoint", "is required for Type azure (e.g. https://my-resource.openai.azure.com).");
            return null;
        }
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != "https" && uri.Scheme != "http"))
        {
            errors.Add($"{path}:Endpoint", $"'{endpoint}' is not an absolute http(s) URL.");
            return null;
        }
        return new AzureOpenAiSettings(uri, p.ApiVersion ?? DefaultApiVersion,
            new Dictionary<string, string>(p.Deployments, StringComparer.OrdinalIgnoreCase));
    }
}
