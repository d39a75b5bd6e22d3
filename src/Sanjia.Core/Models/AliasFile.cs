using System.Text.Json;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Models;

/// <summary>A data-folder file of one record per alias (promotions, rollouts): a JSON array, replaced whole on each change.</summary>
internal static class AliasFile
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Dictionary<string, T> Load<T>(string path, Func<T, string> alias, string what)
    {
        if (!File.Exists(path)) return new(StringComparer.OrdinalIgnoreCase);
        try
        {
            var list = JsonSerializer.Deserialize<List<T>>(File.ReadAllText(path), Json) ?? [];
            return list.ToDictionary(alias, StringComparer.OrdinalIgnoreCase);
        }
        catch (JsonException e)
        {
            throw new ConfigurationException([$"{path}: the {what} file is not valid JSON ({e.Message}); fix or delete it."]);
        }
    }

    public static void Save<T>(string path, IEnumerable<T> values)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Write then rename: a crash mid-write must not lose what the file held.
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(values.ToList(), Json));
        File.Move(temp, path, overwrite: true);
    }
}
