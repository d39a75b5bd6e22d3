using System.Text;

namespace Sanjia.Testing.FakeUpstream;

/// <summary>One request as the fake upstream received it, and how its handling ended.</summary>
public sealed class RecordedRequest
{
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _clientAborted;
    private volatile bool _serverAborted;
    private int _statusCode;
    private int _chunksSent;

    internal RecordedRequest(string method, string path, string queryString, IReadOnlyDictionary<string, string> headers, byte[] body)
    {
        Method = method;
        Path = path;
        QueryString = queryString;
        Headers = headers;
        Body = body;
    }

    public string Method { get; }
    public string Path { get; }
    public string QueryString { get; }

    /// <summary>Request headers by case-insensitive name; repeated headers are joined with a comma.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>The body exactly as received.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    public string BodyText => Encoding.UTF8.GetString(Body.Span);

    /// <summary>The behaviour the server applied (null for routes that take none, or rejected requests).</summary>
    public FakeBehavior? Behavior { get; internal set; }

    /// <summary>Completes when the server has finished handling the request, however it ended.</summary>
    public Task Completed => _completed.Task;

    public bool IsCompleted => _completed.Task.IsCompleted;

    /// <summary>The client went away (cancelled, closed the connection) before the server finished answering.</summary>
    public bool ClientAborted => _clientAborted;

    /// <summary>The server cut the connection on purpose (a scripted drop or reset).</summary>
    public bool ServerAborted => _serverAborted;

    /// <summary>The status the server set, 0 when it aborted before answering.</summary>
    public int StatusCode => Volatile.Read(ref _statusCode);

    /// <summary>SSE data events (chunks) written so far, counting neither <c>[DONE]</c> nor the malformed line.</summary>
    public int ChunksSent => Volatile.Read(ref _chunksSent);

    /// <summary>Waits for the handling to end and tells whether the client aborted it; false on timeout.</summary>
    public async Task<bool> WaitForClientAbortAsync(TimeSpan timeout)
    {
        try
        {
            await _completed.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return false;
        }
        return _clientAborted;
    }

    internal void MarkServerAborted() => _serverAborted = true;

    internal void CountChunk() => Interlocked.Increment(ref _chunksSent);

    internal void Finish(int statusCode, bool clientAborted)
    {
        Volatile.Write(ref _statusCode, statusCode);
        _clientAborted = clientAborted;
        _completed.TrySetResult();
    }

    public override string ToString() => $"{Method} {Path}{QueryString} ({Body.Length} bytes)";
}
