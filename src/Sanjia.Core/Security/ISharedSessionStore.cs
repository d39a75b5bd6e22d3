namespace Sanjia.Core.Security;

/// <summary>
/// Where the web console's sessions are kept when several instances serve one console behind a load balancer
/// (docs/console.md): one opaque record per session, already encrypted by the caller, under the SHA-256 of the
/// session id, expiring with the session. Not registered on a single instance: each keeps its sessions in memory.
/// </summary>
public interface ISharedSessionStore
{
    Task<byte[]?> GetAsync(string id, CancellationToken cancellationToken);

    Task SetAsync(string id, byte[] record, TimeSpan lifetime, CancellationToken cancellationToken);

    Task RemoveAsync(string id, CancellationToken cancellationToken);
}
