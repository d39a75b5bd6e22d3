using System.Net.Http.Headers;

namespace Sanjia.ModelDownloads;

/// <summary>What the hub says about a file before we fetch it (huggingface_hub's <c>HfFileMetadata</c>).</summary>
public sealed record HubFileMetadata(string? Etag, long? Size)
{
    public const string LinkedEtagHeader = "X-Linked-Etag";
    public const string LinkedSizeHeader = "X-Linked-Size";

    /// <summary>For LFS files the linked etag is the SHA-256 of the content, so it doubles as a checksum.</summary>
    public string? Sha256 => HubFileRequest.IsSha256(Etag) ? Etag!.ToLowerInvariant() : null;

    /// <summary>
    /// Reads the answer to a HEAD that was not redirected to the CDN. An LFS file answers with a redirect whose
    /// X-Linked-* headers describe the target; a small file answers 200 and its own ETag/Content-Length do.
    /// </summary>
    public static HubFileMetadata From(HttpResponseMessage response)
    {
        var etag = First(response.Headers, LinkedEtagHeader) ?? response.Headers.ETag?.Tag;
        long? size = long.TryParse(First(response.Headers, LinkedSizeHeader), out var linked) && linked >= 0 ? linked : null;

        // A redirect's Content-Length is the length of the redirect body, not of the file.
        if (size is null && response.IsSuccessStatusCode)
        {
            size = response.Content.Headers.ContentLength;
        }

        return new HubFileMetadata(Normalize(etag), size);
    }

    private static string? First(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static string? Normalize(string? etag)
    {
        if (string.IsNullOrWhiteSpace(etag))
        {
            return null;
        }

        var value = etag.Trim();
        if (value.StartsWith("W/", StringComparison.Ordinal))
        {
            value = value[2..];
        }

        return value.Trim('"');
    }
}
