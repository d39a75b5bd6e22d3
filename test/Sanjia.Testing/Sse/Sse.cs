using System.Text;
using System.Text.Json;

namespace Sanjia.Testing;

/// <summary>Reads a Server-Sent Events body as a client would, keeping every <c>data:</c> payload in order (the final <c>[DONE]</c> included).</summary>
public static class Sse
{
    public static async Task<List<string>> ReadDataAsync(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        var events = new List<string>();
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0) events.Add(data.ToString());
                data.Clear();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                if (data.Length > 0) data.Append('\n');
                data.Append(line.AsSpan(5).TrimStart(' '));
            }
        }
        if (data.Length > 0) events.Add(data.ToString());
        return events;
    }

    /// <summary>The named events of a whole SSE body, as (event, data) pairs in order; events without a name are left out.</summary>
    public static List<(string Event, string Data)> ParseEvents(string text)
    {
        var events = new List<(string, string)>();
        foreach (var block in text.Replace("\r\n", "\n").Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null, data = null;
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line[7..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
            }
            if (name is not null && data is not null) events.Add((name, data));
        }
        return events;
    }
}

/// <summary>A Server-Sent Events body as the client saw it.</summary>
public sealed record SseRead(IReadOnlyList<string> Events, bool Done, bool BrokenOff)
{
    /// <summary>The content text of every chunk, joined.</summary>
    public string Text => string.Concat(Events.Where(e => e.Contains("\"choices\"", StringComparison.Ordinal)).Select(e =>
    {
        using var doc = JsonDocument.Parse(e);
        var choices = doc.RootElement.GetProperty("choices");
        return choices.GetArrayLength() > 0 && choices[0].GetProperty("delta").TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : "";
    }));

    public int ContentChunks => Events.Count(e => e.Contains("\"content\":\"", StringComparison.Ordinal));

    public string? Error => Events.FirstOrDefault(e => e.StartsWith("{\"error\"", StringComparison.Ordinal));

    public static async Task<SseRead> ReadAsync(HttpResponseMessage response, int? stopAfterEvents = null)
    {
        var events = new List<string>();
        var done = false;
        var broken = false;
        try
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                var data = line["data: ".Length..];
                if (data == "[DONE]")
                {
                    done = true;
                    continue;
                }
                events.Add(data);
                if (events.Count == stopAfterEvents) break;
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            broken = true;
        }
        return new SseRead(events, done, broken);
    }
}
