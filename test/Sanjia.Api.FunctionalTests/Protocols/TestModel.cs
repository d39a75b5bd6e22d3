namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>Finds the tiny real GGUF model (same rule as the local provider's tests).</summary>
internal static class TestModel
{
    private const string RelativePath = "shared/models/stories260K.gguf";

    public static string Path { get; } = Locate();

    private static string Locate()
    {
        var fromEnv = Environment.GetEnvironmentVariable("SANJIA_TEST_MODEL");
        if (!string.IsNullOrWhiteSpace(fromEnv)) return fromEnv;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, RelativePath);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"No '{RelativePath}' found above {AppContext.BaseDirectory}; set SANJIA_TEST_MODEL.");
    }
}
