using System.Text;

namespace Sanjia.ModelDownloads;

/// <summary>
/// How a pulled model is named: the gateway serves every GGUF in the models folder as <c>local/&lt;file name without
/// .gguf&gt;</c>, so a pull chooses the file name. <c>owner/Name-GGUF:Q4_K_M</c> becomes <c>name-q4_k_m</c> (the
/// repository's name without a trailing <c>-GGUF</c>, a dash and the tag, lower case, as Ollama names pulled tags);
/// <c>owner/repo folder/File.gguf</c> keeps the file's own name (<c>File</c>). Characters other than letters, digits,
/// '.', '_' and '-' become '-'.
/// </summary>
public static class LocalModelName
{
    public const string Extension = ".gguf";

    /// <summary>The built-in embedding model's name, which no file may take.</summary>
    private const string Reserved = "all-minilm-l6-v2";

    public static string ForQuant(string repo, string quant)
    {
        var name = repo[(repo.LastIndexOf('/') + 1)..];
        foreach (var suffix in (ReadOnlySpan<string>)["-GGUF", "_GGUF", ".GGUF"])
        {
            if (name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                name = name[..^suffix.Length];
                break;
            }
        }
        return Clean($"{name}-{quant}".ToLowerInvariant());
    }

    public static string ForFile(string file)
    {
        var name = file[(file.LastIndexOf('/') + 1)..];
        if (name.EndsWith(Extension, StringComparison.OrdinalIgnoreCase))
        {
            name = name[..^Extension.Length];
        }
        return Clean(name);
    }

    /// <summary>Accepts <c>local/name</c> as well as <c>name</c>.</summary>
    public static string FromServedId(string id) =>
        id.StartsWith("local/", StringComparison.OrdinalIgnoreCase) ? id["local/".Length..] : id;

    /// <summary>Why a name given with <c>--name</c> cannot be used, or null.</summary>
    public static string? Validate(string name)
    {
        if (name.Length is 0 or > 128 || name[0] == '.' || name != Clean(name))
        {
            return $"'{name}' is not a usable model name: 1–128 letters, digits, '.', '_' or '-', not starting with '.'.";
        }
        return string.Equals(name, Reserved, StringComparison.OrdinalIgnoreCase)
            ? $"'{name}' is the built-in embedding model's name; choose another with --name."
            : null;
    }

    /// <summary>Every served GGUF under a models folder with that name (compared ignoring case, as the gateway does).</summary>
    public static IEnumerable<string> FilesNamed(string modelsDirectory, string name)
    {
        if (!Directory.Exists(modelsDirectory))
        {
            return [];
        }
        var scan = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, MatchCasing = MatchCasing.CaseInsensitive };
        return Directory.EnumerateFiles(modelsDirectory, "*" + Extension, scan)
            .Where(path => string.Equals(Path.GetFileNameWithoutExtension(path), name, StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal);
    }

    private static string Clean(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-');
        }
        return builder.ToString();
    }
}
