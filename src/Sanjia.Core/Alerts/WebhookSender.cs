using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Sanjia.Core.Alerts;

/// <summary>
/// The signature of Standard Webhooks 1.0 (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md):
/// <c>webhook-signature: v1,&lt;base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}"&gt;</c>, so a
/// receiver can check it with that project's libraries.
/// </summary>
public static class WebhookSigner
{
    public const string SecretPrefix = "whsec_";

    /// <summary>The HMAC key of a configured secret, or null for a <c>whsec_</c> secret whose rest is not base64.</summary>
    public static byte[]? KeyOf(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (!secret.StartsWith(SecretPrefix, StringComparison.Ordinal)) return Encoding.UTF8.GetBytes(secret);
        try
        {
            return Convert.FromBase64String(secret[SecretPrefix.Length..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public static string Sign(byte[] key, string id, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(key);
        var prefix = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{id}.{timestamp}."));
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, content));
    }
}

/// <summary>
/// Posts an alert to each configured webhook: JSON body, the Standard Webhooks headers (<c>webhook-id</c> is the
/// alert's id on every attempt, so a receiver can drop repeats; <c>webhook-timestamp</c> is the attempt's time in Unix
/// seconds), retrying a network error, a timeout, 408, 429 and 5xx with doubling waits; other answers are final.
/// </summary>
public sealed class WebhookSender : IDisposable
{
    private readonly AlertOptions _options;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly (WebhookOptions Hook, byte[]? Key)[] _hooks;

    public WebhookSender(AlertOptions options, TimeProvider time, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = time;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
        };
        _hooks = [.. options.Webhooks.Select(w => (w, w.Secret is { Length: > 0 } s ? WebhookSigner.KeyOf(s) : null))];
    }

    public bool Any => _hooks.Length > 0;

    /// <summary>Sends to every webhook; delivered only when all took it. Attempts: the most any webhook needed.</summary>
    public async Task<(bool Delivered, int Attempts, string? LastError)> SendAsync(string id, byte[] body, CancellationToken cancellationToken)
    {
        var results = await Task.WhenAll(_hooks.Select(h => SendOneAsync(h.Hook, h.Key, id, body, cancellationToken))).ConfigureAwait(false);
        return (results.All(r => r.Error is null), results.Max(r => r.Attempts), results.Select(r => r.Error).LastOrDefault(e => e is not null));
    }

    private async Task<(int Attempts, string? Error)> SendOneAsync(WebhookOptions hook, byte[]? key, string id, byte[] body, CancellationToken cancellationToken)
    {
        string? error = null;
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            if (attempt > 1)
            {
                var wait = TimeSpan.FromSeconds(_options.RetryBaseSeconds * Math.Pow(2, attempt - 2));
                await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            }
            bool retry;
            (error, retry) = await AttemptAsync(hook, key, id, body, cancellationToken).ConfigureAwait(false);
            if (error is null) return (attempt, null);
            if (!retry) return (attempt, error);
        }
        return (_options.MaxAttempts, error);
    }

    private async Task<(string? Error, bool Retry)> AttemptAsync(WebhookOptions hook, byte[]? key, string id, byte[] body, CancellationToken cancellationToken)
    {
        var timestamp = _time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, hook.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("webhook-id", id);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        if (key is not null) request.Headers.TryAddWithoutValidation("webhook-signature", WebhookSigner.Sign(key, id, timestamp, body));
        request.Headers.UserAgent.ParseAdd("sanjia");
        foreach (var (name, value) in hook.Headers) request.Headers.TryAddWithoutValidation(name, value);
        try
        {
            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode) return (null, false);
            var retry = status is (int)HttpStatusCode.RequestTimeout or 429 or >= 500;
            return (string.Create(CultureInfo.InvariantCulture, $"HTTP {status} from {Host(hook.Url)}"), retry);
        }
        catch (HttpRequestException ex)
        {
            return ($"{Host(hook.Url)}: {ex.HttpRequestError}", true);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ($"{Host(hook.Url)}: timed out after {_options.TimeoutSeconds} s", true);
        }
    }

    /// <summary>Errors name the host only: a webhook URL may carry a token in its path or query.</summary>
    private static string Host(string? url) => Uri.TryCreate(url, UriKind.Absolute, out var u) ? u.Authority : "webhook";

    public void Dispose() => _http.Dispose();
}
