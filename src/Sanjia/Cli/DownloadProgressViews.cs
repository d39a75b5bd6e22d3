using System.Globalization;
using Sanjia.ModelDownloads;
using Spectre.Console;

namespace Sanjia.Cli;

/// <summary>Drives a Spectre.Console progress bar (bytes, speed, ETA) on an interactive terminal.</summary>
internal sealed class SpectreDownloadProgress(ProgressTask task, string name) : IDownloadProgress
{
    public void Started(long? totalBytes, long resumedFrom)
    {
        task.Description = Markup.Escape(name);
        task.IsIndeterminate = totalBytes is null;
        task.MaxValue = totalBytes ?? Math.Max(resumedFrom, 1);
        task.Value = resumedFrom;
    }

    public void Advanced(long bytesOnDisk)
    {
        if (bytesOnDisk > task.MaxValue)
        {
            task.MaxValue = bytesOnDisk;
        }

        task.Value = bytesOnDisk;
    }

    public void Retrying(int attempt, int maxAttempts, TimeSpan delay, string reason) =>
        task.Description = $"{Markup.Escape(name)} [yellow](retry {attempt}/{maxAttempts} in {delay.TotalSeconds:0} s)[/]";

    public void Verifying() => task.Description = $"{Markup.Escape(name)} [grey](verifying SHA-256)[/]";
}

/// <summary>
/// For redirected output (logs, CI): a line when something changes and otherwise one every
/// <see cref="Interval"/>, instead of a bar that would fill the log with redraws.
/// </summary>
internal sealed class PlainDownloadProgress(IAnsiConsole console, TimeProvider time) : IDownloadProgress
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private readonly object _lock = new();
    private long? _total;
    private long _startBytes;
    private long _startTicks;
    private long _lastLineTicks;

    public void Started(long? totalBytes, long resumedFrom)
    {
        lock (_lock)
        {
            _total = totalBytes;
            _startBytes = resumedFrom;
            _startTicks = _lastLineTicks = time.GetTimestamp();
        }

        var size = totalBytes is { } t ? ByteSize.Format(t) : "unknown size";
        console.WriteLine(resumedFrom > 0
            ? $"Resuming at {ByteSize.Format(resumedFrom)} of {size}"
            : $"Downloading {size}");
    }

    public void Advanced(long bytesOnDisk)
    {
        string line;
        lock (_lock)
        {
            var now = time.GetTimestamp();
            if (time.GetElapsedTime(_lastLineTicks, now) < Interval)
            {
                return;
            }

            _lastLineTicks = now;
            var seconds = Math.Max(time.GetElapsedTime(_startTicks, now).TotalSeconds, 0.001);
            var speed = (bytesOnDisk - _startBytes) / seconds;
            line = $"  {ByteSize.Format(bytesOnDisk)}";
            if (_total is { } total && total > 0)
            {
                line += string.Create(CultureInfo.InvariantCulture, $" of {ByteSize.Format(total)} ({100.0 * bytesOnDisk / total:0}%)");
                if (speed > 0)
                {
                    line += $", {ByteSize.Format((long)speed)}/s, {FormatEta(TimeSpan.FromSeconds((total - bytesOnDisk) / speed))} left";
                }
            }
            else if (speed > 0)
            {
                line += $", {ByteSize.Format((long)speed)}/s";
            }
        }

        console.WriteLine(line);
    }

    public void Retrying(int attempt, int maxAttempts, TimeSpan delay, string reason) =>
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Retrying in {delay.TotalSeconds:0.#} s (attempt {attempt} of {maxAttempts} failed: {reason})"));

    public void Verifying() => console.WriteLine("Verifying SHA-256...");

    private static string FormatEta(TimeSpan eta) =>
        eta.TotalHours >= 1 ? $"{(int)eta.TotalHours}h{eta.Minutes:00}m" : $"{eta.Minutes}m{eta.Seconds:00}s";
}
