namespace Sanjia.Api.FunctionalTests.Infrastructure;

public static class HttpResponseExtensions
{
    /// <summary>A response header's values joined with commas, or null when absent.</summary>
    public static string? Get(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var v) ? string.Join(",", v) : null;
}
