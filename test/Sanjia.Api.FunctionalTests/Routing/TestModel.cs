namespace Sanjia.Api.FunctionalTests.Routing;

/// <summary>Finds the tiny real GGUF model (served as <c>local/stories260K</c>) that plays the last-resort local model.</summary>
internal static class TestModel
{
    private const string RelativePath = "shared/models/stories260K.gguf";

    public static string Path => Located.Value;

    private static readonly Lazy<string> Located = new(() =>
    {
        var fromEnv = Environment.GetEnvironmentVariable("SANJIA_TEST_MODEL");
        if (!string.IsNullOrWhiteSpace(fromEnv)) return System.IO.Path.GetFullPath(fromEnv);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, RelativePath);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"No '{RelativePath}' found above {AppContext.BaseDirectory}; set SANJIA_TEST_MODEL to the model file.");
    });
}
