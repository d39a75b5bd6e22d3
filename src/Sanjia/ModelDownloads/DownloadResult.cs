using Sanjia.Abstractions;

namespace Sanjia.ModelDownloads;

/// <summary>The outcome of a pull: the file, or why there is none.</summary>
public sealed record DownloadResult
{
    public string? FilePath { get; init; }

    public GatewayError? Error { get; init; }

    public long Length { get; init; }

    /// <summary>The SHA-256 the file was checked against; null when no checksum was available.</summary>
    public string? VerifiedSha256 { get; init; }

    /// <summary>The file was already there and matched, so nothing was transferred.</summary>
    public bool AlreadyPresent { get; init; }

    public static DownloadResult Failed(GatewayError error) => new() { Error = error };
}
