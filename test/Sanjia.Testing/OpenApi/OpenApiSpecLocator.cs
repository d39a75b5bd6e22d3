namespace Sanjia.Testing.OpenApi;

/// <summary>Finds OpenAI's OpenAPI spec: <c>SANJIA_OPENAPI_SPEC</c> if set, else the nearest <c>shared/specs/openai-openapi.yaml</c> above the test binaries.</summary>
public static class OpenApiSpecLocator
{
    public static string Locate() => Locate(Environment.GetEnvironmentVariable(OpenApiSpec.PathVariable), AppContext.BaseDirectory);

    public static string Locate(string? configuredPath, string startDirectory)
    {
        if (!string.IsNullOrWhiteSpace(configuredPath))
        {
            // An explicit setting that points nowhere is a mistake to report, not a reason to silently use another copy.
            return File.Exists(configuredPath)
                ? Path.GetFullPath(configuredPath)
                : throw new FileNotFoundException($"{OpenApiSpec.PathVariable} points to '{configuredPath}', which does not exist.", configuredPath);
        }

        for (var dir = new DirectoryInfo(startDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, OpenApiSpec.RelativeSpecPath);
            if (File.Exists(candidate)) return candidate;
        }

        throw new FileNotFoundException(
            $"OpenAI's OpenAPI spec was not found: set {OpenApiSpec.PathVariable} or put it at {OpenApiSpec.RelativeSpecPath} in a folder above {startDirectory}.");
    }
}
