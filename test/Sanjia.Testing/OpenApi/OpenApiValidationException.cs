namespace Sanjia.Testing.OpenApi;

/// <summary>Thrown by <see cref="OpenApiSpec.AssertValid(string, string)"/>; the message lists every error and the JSON.</summary>
public sealed class OpenApiValidationException : Exception
{
    public OpenApiValidationException() { }

    public OpenApiValidationException(string message) : base(message) { }

    public OpenApiValidationException(string message, Exception innerException) : base(message, innerException) { }
}
