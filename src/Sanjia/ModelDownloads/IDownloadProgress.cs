namespace Sanjia.ModelDownloads;

/// <summary>What a download reports while it runs; the console decides how to show it.</summary>
public interface IDownloadProgress
{
    /// <summary>A transfer (first or resumed) began; <paramref name="totalBytes"/> is null when nobody said.</summary>
    void Started(long? totalBytes, long resumedFrom);

    /// <summary><paramref name="bytesOnDisk"/> bytes of the file are in the .part file.</summary>
    void Advanced(long bytesOnDisk);

    /// <summary>The transfer failed in a way worth another try, which starts after <paramref name="delay"/>.</summary>
    void Retrying(int attempt, int maxAttempts, TimeSpan delay, string reason);

    void Verifying();
}

public sealed class NoDownloadProgress : IDownloadProgress
{
    public static readonly NoDownloadProgress Instance = new();

    public void Started(long? totalBytes, long resumedFrom) { }

    public void Advanced(long bytesOnDisk) { }

    public void Retrying(int attempt, int maxAttempts, TimeSpan delay, string reason) { }

    public void Verifying() { }
}
