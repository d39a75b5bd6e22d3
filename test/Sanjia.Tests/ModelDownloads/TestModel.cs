namespace Sanjia.Tests.ModelDownloads;

/// <summary>The small GGUF the tests serve: $SANJIA_TEST_MODEL, or shared/models/stories260K.gguf above the test binaries.</summary>
internal static class TestModel
{
    private static readonly Lazy<byte[]> Bytes = new(() => File.ReadAllBytes(Locate()));

    public static byte[] Content => Bytes.Value;

    private static string Locate()
    {
        if (Environment.GetEnvironmentVariable("SANJIA_TEST_MODEL") is { Length: > 0 } configured)
        {
            return configured;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "models", "stories260K.gguf");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(
            "stories260K.gguf not found: set SANJIA_TEST_MODEL or place it in shared/models above the test binaries.");
    }
}
