using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Sanjia.Abstractions;
using Sanjia.Core.Metering;

namespace Sanjia.Api.Admin;

/// <summary>
/// Erasure of stored traffic (docs/admin-api.md, "Deleting a key's or an end user's data"): every ledger row and
/// logged body of one key, or every logged body of one end user (ledger rows carry no end-user id). A key must be
/// revoked first, so no new row of it arrives after the delete. The rows this instance still holds in its journal are
/// stored first, so they are deleted too.
/// </summary>
public sealed class DataDeletionEndpoints(IKeyStore keys, IReadOnlyList<IDeletableTraffic> stores, JournaledLedger? ledger)
{
    public const string KeyRoute = "/admin/keys/{id}/data";
    public const string EndUserRoute = "/admin/end-users/{user}/data";

    public static void Map(IEndpointRouteBuilder admin)
    {
        var s = admin.ServiceProvider;
        var e = new DataDeletionEndpoints(s.GetRequiredService<IKeyStore>(), [.. s.GetServices<IDeletableTraffic>()], s.GetService<JournaledLedger>());
        admin.MapDelete(KeyRoute, e.DeleteKeyDataAsync);
        admin.MapDelete(EndUserRoute, e.DeleteEndUserDataAsync);
    }

    private async Task DeleteKeyDataAsync(HttpContext http, string id)
    {
        var key = await keys.GetKeyAsync(id, http.RequestAborted).ConfigureAwait(false);
        if (key is null)
        {
            // Keys are never removed from the store, so an id it does not know is a typo: "0 rows deleted" would read as done.
            await AdminHttp.WriteErrorAsync(http, new GatewayError(GatewayErrorKind.ModelNotFound, $"There is no key '{id}'.") { Param = "id", Code = "key_not_found" }).ConfigureAwait(false);
            return;
        }
        if (key.RevokedAt is null)
        {
            await AdminHttp.BadRequestAsync(http, $"The key '{id}' is active: revoke it first (DELETE /admin/keys/{id}), so that none of its requests is recorded after its data is deleted.", "id", "key_not_revoked").ConfigureAwait(false);
            return;
        }
        await DeleteAsync(http, DataSubject.Key(id), "key_id").ConfigureAwait(false);
    }

    private Task DeleteEndUserDataAsync(HttpContext http, string user) => string.IsNullOrWhiteSpace(user)
        // No request records a blank end user, so "0 rows deleted" would read as done for what is surely a slip.
        ? AdminHttp.BadRequestAsync(http, "The end-user id is blank: name the end user whose data to delete (the 'user' a request sent).", "user", "invalid_user")
        : DeleteAsync(http, DataSubject.EndUser(user), "user");

    private async Task DeleteAsync(HttpContext http, DataSubject subject, string field)
    {
        if (ledger is not null) await ledger.FlushAsync(http.RequestAborted).ConfigureAwait(false);
        var deleted = new JsonObject();
        foreach (var store in stores)
        {
            var n = await store.DeleteSubjectAsync(subject, http.RequestAborted).ConfigureAwait(false);
            deleted[store.DataName] = (deleted[store.DataName]?.GetValue<long>() ?? 0) + n;
        }
        await AdminHttp.WriteJsonAsync(http, new JsonObject { [field] = subject.Id, ["deleted"] = deleted }).ConfigureAwait(false);
    }
}
