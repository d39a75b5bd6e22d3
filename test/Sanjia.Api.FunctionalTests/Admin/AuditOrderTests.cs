using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Admin;

namespace Sanjia.Api.FunctionalTests.Admin;

/// <summary>
/// An admin write's audit entry is stored before its answer reaches the caller, so a script (or the console) that
/// reads <c>/admin/audit</c> right after a change finds it there. Before, the entry was appended after the answer had
/// gone out, and a read that came quickly enough missed it.
/// </summary>
public sealed class AuditOrderTests
{
    [Fact]
    public async Task The_answer_to_an_admin_write_waits_for_its_audit_entry()
    {
        var store = new GatedAuditStore();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        var admin = app.MapGroup("/admin");
        // Written as the admin endpoints write (a known length, straight to the body), which sends it at once.
        admin.MapPost("/teams", async (HttpContext http) =>
        {
            var body = """{"id":"t1"}"""u8.ToArray();
            http.Response.StatusCode = StatusCodes.Status201Created;
            http.Response.ContentType = "application/json";
            http.Response.ContentLength = body.Length;
            await http.Response.Body.WriteAsync(body);
        });
        new AdminAudit(store, TimeProvider.System).Apply(admin);
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        var send = client.PostAsJsonAsync("/admin/teams", new { name = "t1" });
        await store.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // The store holds the entry back: the answer must not have been sent meanwhile.
        Assert.NotSame(send, await Task.WhenAny(send, Task.Delay(500)));
        store.Release.SetResult();
        using var response = await send.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var entry = Assert.Single(store.Entries);
        Assert.Equal(("POST", "/admin/teams", 201), (entry.Method, entry.Path, entry.Status));
    }

    private sealed class GatedAuditStore : IAuditStore
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public List<AuditEntry> Entries { get; } = [];

        public async Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await Release.Task;
            lock (Entries) Entries.Add(entry);
        }

        public Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditFilter filter, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<AuditEntry>>([.. Entries]);
    }
}
