using System.Text;

namespace Sanjia.Providers.Local;

/// <summary>
/// Cuts generated text at the first stop sequence, without ever emitting any part of it: text that could still turn
/// out to be the start of a stop sequence is held back until the next piece decides it either way.
/// </summary>
internal sealed class StopSequenceFilter
{
    private readonly string[] _stops;
    private readonly int _longest;
    private readonly StringBuilder _pending = new();

    public StopSequenceFilter(IEnumerable<string> stops)
    {
        // An empty stop sequence would end every generation before it starts; OpenAI ignores it too.
        _stops = stops.Where(s => s.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
        _longest = _stops.Length == 0 ? 0 : _stops.Max(s => s.Length);
    }

    /// <summary>Adds decoded text; returns what can be emitted now. <paramref name="stopped"/> is set when a stop sequence completed.</summary>
    public string Push(string text, out bool stopped)
    {
        stopped = false;
        if (_stops.Length == 0)
        {
            return text;
        }
        _pending.Append(text);
        var pending = _pending.ToString();

        var cut = -1;
        foreach (var stop in _stops)
        {
            var at = pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut))
            {
                cut = at;
            }
        }
        if (cut >= 0)
        {
            stopped = true;
            _pending.Clear();
            return pending[..cut];
        }

        var hold = HeldBackLength(pending);
        _pending.Clear().Append(pending, pending.Length - hold, hold);
        return pending[..^hold];
    }

    /// <summary>The text still held back: at the end of a generation it was not a stop sequence after all.</summary>
    public string Flush()
    {
        var rest = _pending.ToString();
        _pending.Clear();
        return rest;
    }

    // The longest tail of the text that is a proper prefix of some stop sequence.
    private int HeldBackLength(string text)
    {
        for (var start = Math.Max(0, text.Length - (_longest - 1)); start < text.Length; start++)
        {
            var tail = text.AsSpan(start);
            foreach (var stop in _stops)
            {
                if (stop.Length > tail.Length && stop.AsSpan().StartsWith(tail, StringComparison.Ordinal))
                {
                    return text.Length - start;
                }
            }
        }
        return 0;
    }
}
