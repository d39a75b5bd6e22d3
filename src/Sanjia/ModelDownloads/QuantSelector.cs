using Sanjia.Abstractions;

namespace Sanjia.ModelDownloads;

/// <summary>One file of a repository, from the hub's tree listing.</summary>
public sealed record HubRepoFile(string Path, long Size);

/// <summary>
/// Picks the GGUF file a quantisation tag names in a repository's file list, the way llama.cpp's <c>-hf repo:quant</c>
/// does: the tag is matched in the file names ignoring case; without a tag, <c>Q4_K_M</c> is tried, then the only
/// GGUF file of the repository. Multimodal projector files (<c>mmproj</c>) are never the model. The tag must stand
/// as a part of the name (after the start, '-', '.', '_' or '/', before <c>.gguf</c>, '-' or '.'), so <c>Q4_K</c>
/// does not pick <c>Q4_K_M</c>. Two candidates, or a model split into several files, are refused with the file names,
/// so the user can pull one by name.
/// </summary>
public static class QuantSelector
{
    public const string DefaultTag = "Q4_K_M";

    public static (HubRepoFile? File, string? Tag, GatewayError? Error) Select(string repo, string? tag, IReadOnlyList<HubRepoFile> files)
    {
        var ggufs = files
            .Where(f => f.Path.EndsWith(LocalModelName.Extension, StringComparison.OrdinalIgnoreCase)
                && !Name(f).Contains("mmproj", StringComparison.OrdinalIgnoreCase))
            .ToList();
        if (ggufs.Count == 0)
        {
            return (null, null, new GatewayError(GatewayErrorKind.ModelNotFound,
                $"The repository {repo} has no GGUF file. Sanjia serves GGUF models; look for a '-GGUF' repository of the model.")
            { Code = "no_gguf_files" });
        }

        var wanted = tag ?? DefaultTag;
        var matches = ggufs.Where(f => Mentions(Name(f), wanted)).ToList();
        if (matches.Count == 0 && tag is null && ggufs.Count == 1)
        {
            return (ggufs[0], null, null);
        }

        var available = string.Join(", ", ggufs.Select(f => f.Path).Order(StringComparer.Ordinal));
        if (matches.Count == 0)
        {
            return (null, null, new GatewayError(GatewayErrorKind.ModelNotFound, tag is null
                ? $"{repo} has several GGUF files and none is {DefaultTag}: name one as {repo}:<quant>, or pull a file with 'sanjia models pull {repo} <file>'. Files: {available}."
                : $"{repo} has no GGUF file for the tag '{tag}'. Files: {available}.")
            { Code = "quant_not_found" });
        }

        if (matches.Any(f => IsShard(Name(f))))
        {
            return (null, null, new GatewayError(GatewayErrorKind.InvalidRequest,
                $"The {wanted} model of {repo} is split into several files ({string.Join(", ", matches.Select(f => f.Path))}); "
                + "pulling split models is not supported. Choose another quantisation.")
            { Code = "split_model" });
        }

        if (matches.Count > 1)
        {
            return (null, null, new GatewayError(GatewayErrorKind.InvalidRequest,
                $"The tag '{wanted}' matches several files of {repo}: {string.Join(", ", matches.Select(f => f.Path))}. "
                + $"Pull one of them with 'sanjia models pull {repo} <file>'.")
            { Code = "ambiguous_quant" });
        }

        return (matches[0], wanted, null);
    }

    private static string Name(HubRepoFile f) => f.Path[(f.Path.LastIndexOf('/') + 1)..];

    private static bool Mentions(string fileName, string tag)
    {
        var stem = fileName[..^LocalModelName.Extension.Length];
        for (var at = stem.IndexOf(tag, StringComparison.OrdinalIgnoreCase); at >= 0;
             at = stem.IndexOf(tag, at + 1, StringComparison.OrdinalIgnoreCase))
        {
            var end = at + tag.Length;
            var before = at == 0 || stem[at - 1] is '-' or '.' or '_';
            var after = end == stem.Length || stem[end] is '-' or '.';
            if (before && after)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>llama.cpp's split naming: <c>name-00001-of-00003.gguf</c>.</summary>
    private static bool IsShard(string fileName) =>
        System.Text.RegularExpressions.Regex.IsMatch(fileName, @"-\d{5}-of-\d{5}\.gguf$", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
}
