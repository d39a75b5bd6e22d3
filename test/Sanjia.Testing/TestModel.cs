namespace Sanjia.Testing;

/// <summary>Finds the tiny real GGUF model the tests run against.</summary>
public static class TestModel
{
    public const string Name = "stories260K";
    private const string RelativePath = "shared/models/stories260K.gguf";

    private static readonly Lazy<string> Located = new(Locate);
    private static readonly Lazy<byte[]> Bytes = new(() => File.ReadAllBytes(Located.Value));

    /// <summary>SANJIA_TEST_MODEL if set, else the nearest <c>shared/models/stories260K.gguf</c> above the test binaries.</summary>
    public static string Path => Located.Value;

    /// <summary>The model file's bytes (read once).</summary>
    public static byte[] Content => Bytes.Value;

    private static string Locate()
    {
        var fromEnv = Environment.GetEnvironmentVariable("SANJIA_TEST_MODEL");
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            return File.Exists(fromEnv) ? System.IO.Path.GetFullPath(fromEnv)
                : throw new FileNotFoundException($"SANJIA_TEST_MODEL points to '{fromEnv}', which does not exist.");
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, RelativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException($"No '{RelativePath}' found above {AppContext.BaseDirectory}; set SANJIA_TEST_MODEL to the model file.");
    }
}
