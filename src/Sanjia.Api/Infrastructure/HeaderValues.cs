namespace Sanjia.Api.Infrastructure;

/// <summary>
/// Response header values that carry request or configuration data (a deployment id, a route, a prompt name). Kestrel
/// refuses a value with a control character or a non-ASCII one by throwing, which would turn an answered request
/// into a 500 after the vendor was paid; such a value is sent percent-encoded (RFC 3986) instead. Request data that
/// reaches a header is also refused at parse time where it can be (model ids); this is the second line.
/// </summary>
public static class HeaderValues
{
    public static string Safe(string value) =>
        value.AsSpan().IndexOfAnyExceptInRange(' ', '~') < 0 ? value : Uri.EscapeDataString(value);
}
