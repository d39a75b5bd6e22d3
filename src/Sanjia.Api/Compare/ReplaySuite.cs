using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sanjia.Core.Traffic;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Api.Compare;

/// <summary>Which logged traffic to replay and how to grade it against the original answers.</summary>
public sealed record ReplaySettings
{
    public string? Alias { get; init; }
    public string? KeyId { get; init; }
    public DateTimeOffset? Since { get; init; }
    public DateTimeOffset? Until { get; init; }
    public int Sample { get; init; } = 100;
    public int Seed { get; init; } = 1;
    public string EmbeddingModel { get; init; } = "local/all-minilm-l6-v2";
    public double Threshold { get; init; } = 0.8;
    /// <summary>When set, a judge model grades instead of embedding similarity.</summary>
    public string? JudgeModel { get; init; }
    public string? Rubric { get; init; }

    public const string DefaultRubric = "The answer must give the same information and follow the same instructions as the reference answer; wording may differ.";

    /// <summary>Reads the admin API's <c>replay</c> object: alias, key_id, since, until, sample, seed, embedding_model, threshold, judge_model, rubric.</summary>
    public static ReplaySettings Parse(JsonNode? node)
    {
        if (node is not JsonObject o) throw new SuiteFormatException("replay: must be an object {alias, since, until, sample, key_id, ...}.");
        var known = new[] { "alias", "key_id", "since", "until", "sample", "seed", "embedding_model", "threshold", "judge_model", "rubric" };
        if (o.Select(p => p.Key).FirstOrDefault(k => !known.Contains(k)) is { } unknown) throw new SuiteFormatException($"replay.{unknown}: unknown setting (known: {string.Join(", ", known)}).");
        string? Text(string name) => o[name] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            _ => throw new SuiteFormatException($"replay.{name}: must be text."),
        };
        var sample = o["sample"] is { } n ? (n is JsonValue nv && nv.TryGetValue<int>(out var i) && i is >= 1 and <= 100_000 ? i : throw new SuiteFormatException("replay.sample: must be a whole number from 1 to 100000.")) : 100;
        var threshold = o["threshold"] is { } t ? (t is JsonValue tv && tv.TryGetValue<double>(out var d) && d is >= 0 and <= 1 ? d : throw new SuiteFormatException("replay.threshold: must be between 0 and 1.")) : 0.8;
        return new ReplaySettings
        {
            Alias = Text("alias"),
            KeyId = Text("key_id"),
            Since = Time(Text("since"), "replay.since"),
            Until = Time(Text("until"), "replay.until"),
            Sample = sample,
            Seed = o["seed"] is JsonValue sv && sv.TryGetValue<int>(out var seed) ? seed : 1,
            EmbeddingModel = Text("embedding_model") ?? "local/all-minilm-l6-v2",
            Threshold = threshold,
            JudgeModel = Text("judge_model"),
            Rubric = Text("rubric"),
        };
    }

    /// <summary>ISO 8601 time (a date alone is midnight UTC); the error names the setting.</summary>
    public static DateTimeOffset? Time(string? text, string name)
    {
        if (text is null) return null;
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t : throw new SuiteFormatException($"{name}: '{text}' is not a time; use ISO 8601, e.g. 2025-01-31 or 2025-01-31T12:00:00Z.");
    }
}

/// <summary>
/// A suite from the body log: a seeded sample of the matching exchanges, each a case with the caller's messages and
/// the original answer as the expected one, graded by embedding similarity (or a judge when one is given).
/// </summary>
public static class ReplaySuite
{
    public static async Task<EvalSuite> BuildAsync(IBodyLogStore store, ReplaySettings s, CancellationToken ct)
    {
        if (s.Since is { } since && s.Until is { } until && until <= since) throw new SuiteFormatException("replay: 'until' must be after 'since'.");
        var logged = await store.ReadAsync(new BodyLogQuery(s.Alias, s.KeyId, s.Since, s.Until), ct).ConfigureAwait(false);
        var usable = logged.Select(e => (Exchange: e, Messages: Messages(e.RequestBody))).Where(x => x.Messages is { Count: > 0 } && x.Exchange.ResponseText.Length > 0).ToList();
        if (usable.Count == 0)
        {
            throw new SuiteFormatException($"replay: no logged traffic matches (alias {s.Alias ?? "any"}, key {s.KeyId ?? "any"}, since {s.Since?.ToString("u", CultureInfo.InvariantCulture) ?? "the start"}, until {s.Until?.ToString("u", CultureInfo.InvariantCulture) ?? "now"}). Body logging must be on (Sanjia:Logging:Bodies).");
        }
        var random = new Random(s.Seed);
        var sample = usable.Count <= s.Sample ? usable : [.. usable.OrderBy(_ => random.Next()).Take(s.Sample).OrderBy(x => x.Exchange.Timestamp)];
        var grader = s.JudgeModel is not null
            ? new JsonObject { ["type"] = "judge", ["model"] = s.JudgeModel, ["rubric"] = s.Rubric ?? ReplaySettings.DefaultRubric }
            : new JsonObject { ["type"] = "embedding", ["model"] = s.EmbeddingModel, ["threshold"] = s.Threshold };
        var root = new JsonObject
        {
            ["name"] = $"replay-{s.Alias ?? "all"}",
            ["graders"] = new JsonArray(grader),
            ["cases"] = new JsonArray([.. sample.Select(x => (JsonNode)new JsonObject
            {
                ["id"] = x.Exchange.RequestId,
                ["messages"] = new JsonArray([.. x.Messages!.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]),
                ["expected"] = x.Exchange.ResponseText,
            })]),
        };
        return SuiteLoader.FromJson(root.ToJsonString(), "replay", root["name"]!.GetValue<string>());
    }

    /// <summary>The request's messages as text (content parts of type text joined); null when the body has none.</summary>
    internal static List<EvalMessage>? Messages(string requestBody)
    {
        try
        {
            if (JsonNode.Parse(requestBody)?["messages"] is not JsonArray messages) return null;
            var list = new List<EvalMessage>();
            foreach (var m in messages.OfType<JsonObject>())
            {
                var role = m["role"]?.GetValue<string>() ?? "user";
                var content = m["content"] switch
                {
                    JsonValue v when v.TryGetValue<string>(out var text) => text,
                    JsonArray parts => string.Concat(parts.OfType<JsonObject>().Where(p => p["type"]?.GetValue<string>() == "text").Select(p => p["text"]?.GetValue<string>())),
                    _ => "",
                };
                if (role is "system" or "developer" or "user" or "assistant") list.Add(new EvalMessage(role, content));
            }
            return list;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}

/// <summary>The <c>replay</c> source of <c>POST /admin/compare</c>.</summary>
public sealed class ReplaySuiteSource(IBodyLogStore store) : ISuiteSource
{
    public string Field => "replay";

    public Task<EvalSuite> BuildAsync(JsonNode? settings, CancellationToken cancellationToken) => ReplaySuite.BuildAsync(store, ReplaySettings.Parse(settings), cancellationToken);
}
