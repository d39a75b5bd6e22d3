using System.Text.RegularExpressions;
using Sanjia.Abstractions;

namespace Sanjia.ModelDownloads;

/// <summary>One file of a Hugging Face repository, and where to put it.</summary>
public sealed partial record HubFileRequest(string Repo, string File)
{
    public const string DefaultEndpoint = "https://huggingface.co";

    public string Revision { get; init; } = "main";

    /// <summary>The models folder; the file lands at <c>{ModelsDirectory}/{File}</c>.</summary>
    public string ModelsDirectory { get; init; } = "models";

    /// <summary>The hub, or a mirror that speaks the same <c>/resolve/</c> protocol.</summary>
    public string Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>Sent as a bearer token to the hub only, never to the CDN it redirects to.</summary>
    public string? Token { get; init; }

    /// <summary>Lower-case hex; when null the hub's linked etag is used if it is a SHA-256.</summary>
    public string? Sha256 { get; init; }

    /// <summary>
    /// The served name (<c>local/&lt;name&gt;</c>) and so the file name in the models folder; by default the file's own
    /// name without <c>.gguf</c> (<see cref="LocalModelName"/>).
    /// </summary>
    public string? LocalName { get; init; }

    /// <summary><c>{ModelsDirectory}/{LocalName}.gguf</c>: flat, so the served name is the file name.</summary>
    public string DestinationPath => Path.Combine(ModelsDirectory, (LocalName ?? LocalModelName.ForFile(File)) + LocalModelName.Extension);

    public string PartPath => DestinationPath + ".part";

    public Uri ResolveUri
    {
        get
        {
            // Same quoting as huggingface_hub's hf_hub_url: the revision is one segment (refs/pr/1 → refs%2Fpr%2F1),
            // the file keeps its folders.
            var file = string.Join('/', File.Split('/').Select(Uri.EscapeDataString));
            return new Uri($"{Endpoint.TrimEnd('/')}/{Repo}/resolve/{Uri.EscapeDataString(Revision)}/{file}");
        }
    }

    /// <summary>Checks what the user typed; the message names the argument at fault.</summary>
    public GatewayError? Validate()
    {
        if (!RepoPattern().IsMatch(Repo) || Repo.Contains("..", StringComparison.Ordinal))
        {
            return GatewayError.Invalid($"'{Repo}' is not a repository id; expected owner/name, e.g. ggml-org/models.", "repo");
        }

        if (File.Length == 0 || File.StartsWith('/') || File.Contains('\\', StringComparison.Ordinal)
            || File.Split('/').Any(s => s is "" or "." or ".."))
        {
            return GatewayError.Invalid($"'{File}' is not a file path inside the repository.", "file");
        }

        if (LocalName is not null && LocalModelName.Validate(LocalName) is { } badName)
        {
            return GatewayError.Invalid(badName, "name");
        }

        if (string.IsNullOrWhiteSpace(Revision))
        {
            return GatewayError.Invalid("The revision must not be empty.", "revision");
        }

        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            return GatewayError.Invalid($"'{Endpoint}' is not an http(s) URL.", "endpoint");
        }

        if (Sha256 is not null && !IsSha256(Sha256))
        {
            return GatewayError.Invalid($"'{Sha256}' is not a SHA-256 (64 hexadecimal digits).", "sha256");
        }

        return null;
    }

    public static bool IsSha256(string? value) => value is not null && Sha256Pattern().IsMatch(value);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9_.-]+)?$")]
    private static partial Regex RepoPattern();

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex Sha256Pattern();
}
