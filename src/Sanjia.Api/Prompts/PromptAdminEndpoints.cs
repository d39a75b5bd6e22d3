using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sanjia.Api.Admin;
using Sanjia.Core.Prompts;

namespace Sanjia.Api.Prompts;

/// <summary>
/// The prompt library's admin API (master key only): <c>POST /admin/prompts</c> creates a prompt (version 1),
/// <c>POST /admin/prompts/{id}/versions</c> adds a version, <c>POST /admin/prompts/{id}/versions/{v}/variants</c>
/// copies version v into a new version with a variant for a candidate model (the migration's first step),
/// <c>GET /admin/prompts</c>, <c>GET /admin/prompts/{id}</c>, <c>GET /admin/prompts/{id}/versions/{v}</c>.
/// </summary>
public sealed class PromptAdminEndpoints(IPromptStore store, TimeProvider time, long maxBodyBytes)
{
    public const string Route = "/admin/prompts";

    public async Task CreateAsync(HttpContext http)
    {
        if (await AdminHttp.ReadObjectAsync(http, maxBodyBytes, AdminFields.PromptCreate).ConfigureAwait(false) is not { } body) return;
        var id = AdminHttp.Text(body, "id");
        if (id is null || !PromptTemplate.IsValidId(id))
        {
            await AdminHttp.BadRequestAsync(http, "'id' is required: 1–100 letters, digits, '_', '-' or '.', starting with a letter or digit.", "id").ConfigureAwait(false);
            return;
        }
        var (version, error) = PromptJson.ReadVersion(body, time.GetUtcNow());
        if (error is not null)
        {
            await AdminHttp.BadRequestAsync(http, error, ParamOf(error), "invalid_prompt").ConfigureAwait(false);
            return;
        }
        if (!await store.CreateAsync(id, AdminHttp.Text(body, "description"), version!, http.RequestAborted).ConfigureAwait(false))
        {
            await AdminHttp.BadRequestAsync(http, $"A prompt named '{id}' already exists; add a version with POST {Route}/{id}/versions.", "id", "prompt_exists").ConfigureAwait(false);
            return;
        }
        var prompt = await store.GetAsync(id, http.RequestAborted).ConfigureAwait(false);
        await AdminHttp.WriteJsonAsync(http, PromptJson.Write(prompt!), StatusCodes.Status201Created).ConfigureAwait(false);
    }

    public async Task AddVersionAsync(HttpContext http, string id)
    {
        if (await AdminHttp.ReadObjectAsync(http, maxBodyBytes, AdminFields.PromptVersion).ConfigureAwait(false) is not { } body) return;
        var (version, error) = PromptJson.ReadVersion(body, time.GetUtcNow());
        if (error is not null)
        {
            await AdminHttp.BadRequestAsync(http, error, ParamOf(error), "invalid_prompt").ConfigureAwait(false);
            return;
        }
        await SaveVersionAsync(http, id, version!).ConfigureAwait(false);
    }

    /// <summary>The field a version's error names first (<c>'messages[0].role' must be ...</c>), for the error's <c>param</c>.</summary>
    private static string? ParamOf(string error) =>
        error.StartsWith('\'') && error.IndexOf('\'', 1) is > 1 and var end ? error[1..end] : null;

    /// <summary>Copies a version into a new one that adds (or replaces) the variant for <c>model</c>; <c>messages</c> default to the copied version's.</summary>
    public async Task AddVariantAsync(HttpContext http, string id, string version)
    {
        if (await AdminHttp.ReadObjectAsync(http, maxBodyBytes, AdminFields.PromptVariant).ConfigureAwait(false) is not { } body) return;
        if (await FindAsync(http, id, version).ConfigureAwait(false) is not { } source) return;
        var model = AdminHttp.Text(body, "model");
        if (string.IsNullOrWhiteSpace(model))
        {
            await AdminHttp.BadRequestAsync(http, "'model' is required: the candidate model the variant is for.", "model").ConfigureAwait(false);
            return;
        }
        var messages = source.Messages;
        if (body["messages"] is { } node)
        {
            var (m, error) = PromptTemplate.ReadMessages(node, "messages");
            if (error is not null)
            {
                await AdminHttp.BadRequestAsync(http, error, ParamOf(error) ?? "messages", "invalid_prompt").ConfigureAwait(false);
                return;
            }
            messages = m!;
        }
        var variants = new Dictionary<string, IReadOnlyList<PromptMessage>>(source.Variants, StringComparer.OrdinalIgnoreCase) { [model] = messages };
        var note = AdminHttp.Text(body, "note") ?? $"variant for {model}, copied from version {source.Version}";
        await SaveVersionAsync(http, id, source with { Variants = variants, Note = note, CreatedAt = time.GetUtcNow() }).ConfigureAwait(false);
    }

    public async Task ListAsync(HttpContext http)
    {
        var prompts = await store.ListAsync(http.RequestAborted).ConfigureAwait(false);
        await AdminHttp.WriteJsonAsync(http, new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray([.. prompts.Select(p => (JsonNode)PromptJson.Write(p, allVersions: false))]),
        }).ConfigureAwait(false);
    }

    public async Task GetAsync(HttpContext http, string id)
    {
        if (await store.GetAsync(id, http.RequestAborted).ConfigureAwait(false) is not { } prompt)
        {
            await AdminHttp.NotFoundAsync(http, $"No prompt named '{id}'.", "prompt_not_found").ConfigureAwait(false);
            return;
        }
        await AdminHttp.WriteJsonAsync(http, PromptJson.Write(prompt)).ConfigureAwait(false);
    }

    public async Task GetVersionAsync(HttpContext http, string id, string version)
    {
        if (await FindAsync(http, id, version).ConfigureAwait(false) is not { } v) return;
        await AdminHttp.WriteJsonAsync(http, PromptJson.Write(id, v)).ConfigureAwait(false);
    }

    private async Task SaveVersionAsync(HttpContext http, string id, PromptVersion version)
    {
        if (await store.AddVersionAsync(id, version, http.RequestAborted).ConfigureAwait(false) is not { } saved)
        {
            await AdminHttp.NotFoundAsync(http, $"No prompt named '{id}'; create it with POST {Route}.", "prompt_not_found").ConfigureAwait(false);
            return;
        }
        await AdminHttp.WriteJsonAsync(http, PromptJson.Write(id, saved), StatusCodes.Status201Created).ConfigureAwait(false);
    }

    /// <summary>The version named in the path (a number or <c>latest</c>); writes 404 and returns null when there is none.</summary>
    private async Task<PromptVersion?> FindAsync(HttpContext http, string id, string version)
    {
        var prompt = await store.GetAsync(id, http.RequestAborted).ConfigureAwait(false);
        var found = prompt is null ? null
            : version.Equals("latest", StringComparison.OrdinalIgnoreCase) ? prompt.Latest
            : int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? prompt.Find(n) : null;
        if (found is null)
        {
            await AdminHttp.NotFoundAsync(http, prompt is null ? $"No prompt named '{id}'." : $"Prompt '{id}' has no version '{version}' (versions 1–{prompt.Latest.Version}).",
                prompt is null ? "prompt_not_found" : "prompt_version_not_found").ConfigureAwait(false);
        }
        return found;
    }
}
