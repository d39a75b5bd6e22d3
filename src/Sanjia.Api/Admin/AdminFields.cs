using System.Collections.Frozen;
using Sanjia.Abstractions;

namespace Sanjia.Api.Admin;

/// <summary>
/// The fields one admin write route reads. A body with any other field is refused with <c>400 unknown_fields</c>
/// naming each of them, before anything changes: a misspelt <c>budegt</c> must not create a key without a budget,
/// and a field the gateway does not know (as <c>expires_at</c> once was) must not look accepted. Every admin write
/// route passes its set to <see cref="AdminHttp.ReadObjectAsync"/> or <see cref="AdminEndpoints"/>' body reader.
/// </summary>
public sealed class AdminFields
{
    public static readonly AdminFields Key = new("name", "team_id", "allowed_models", "budget", "rpm_limit", "tpm_limit", "metadata", "expires_at", "scopes", "guardrails");
    public static readonly AdminFields Team = new("name", "budget", "metadata", "guardrails");
    public static readonly AdminFields Promote = new("provider", "model");
    public static readonly AdminFields PromptVersion = new("messages", "variants", "model", "defaults", "note");
    public static readonly AdminFields PromptCreate = PromptVersion.With("id", "description");
    public static readonly AdminFields PromptVariant = new("model", "messages", "note");

    private readonly FrozenSet<string> _names;
    private readonly string[] _ordered;

    public AdminFields(params IEnumerable<string> names)
    {
        _ordered = [.. names.Distinct(StringComparer.Ordinal)];
        _names = _ordered.ToFrozenSet(StringComparer.Ordinal);
    }

    public AdminFields With(params IEnumerable<string> more) => new([.. _ordered, .. more]);

    /// <summary>A 400 naming every field of <paramref name="present"/> this route does not read, or null.</summary>
    public GatewayError? Check(IEnumerable<string> present)
    {
        List<string>? unknown = null;
        foreach (var name in present)
        {
            if (!_names.Contains(name))
            {
                (unknown ??= []).Add(name);
            }
        }
        if (unknown is null)
        {
            return null;
        }
        var listed = string.Join(", ", unknown.Select(n => $"'{n}'"));
        return GatewayError.Invalid(
            $"Unknown field{(unknown.Count > 1 ? "s" : "")} {listed}. This route accepts: {string.Join(", ", _ordered)}.",
            unknown[0], "unknown_fields");
    }
}
