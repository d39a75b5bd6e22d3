using System.Globalization;
using System.Text;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Pricing;
using Sanjia.Providers.OpenAi.Presets;

namespace Sanjia.Core.Tests.Pricing;

/// <summary>
/// The catalogue as data: vendor quirks next to prices, each fact with its source; unverified and retired entries
/// marked and still priced; and the docs' tables generated from it (a test fails when a table and the data disagree;
/// run with <c>SANJIA_WRITE_DOCS=1</c> to rewrite the generated tables).
/// </summary>
public sealed class CatalogueDataTests
{
    private static readonly CatalogueFile File = PriceCatalogue.ReadBuiltIn();

    [Fact]
    public void Every_quirk_names_a_preset_and_its_source_and_third_party_facts_are_marked_unverified()
    {
        var quirks = File.Quirks ?? [];
        Assert.True(quirks.Count >= 8, $"{quirks.Count} quirk entries");
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var q in quirks)
        {
            Assert.NotEmpty(q.Providers);
            foreach (var p in q.Providers)
            {
                Assert.True(ProviderPresets.Find(p) is not null, $"quirks name '{p}', which is not a preset");
                Assert.True(seen.Add(p), $"'{p}' has two quirks entries");
            }
            Assert.NotNull(PriceCatalogue.ParseDate(q.Checked));
            var facts = Facts(q).ToList();
            Assert.NotEmpty(facts);
            foreach (var (name, fact) in facts)
            {
                Assert.False(string.IsNullOrWhiteSpace(fact.Source), $"{q.Providers[0]} {name}: no source");
                Assert.True(fact.Verified == false == fact.Source.StartsWith("third parties", StringComparison.Ordinal),
                    $"{q.Providers[0]} {name}: a third-party source must be marked \"verified\": false, and only then");
            }
            if (q.Temperature is { } t)
            {
                Assert.True(t.Min >= 0 && t.Max <= 2 && t.Min < t.Max, $"{q.Providers[0]}: [{t.Min}, {t.Max}]");
            }
        }
    }

    [Fact]
    public void Presets_take_their_sampling_quirks_from_the_catalogue()
    {
        foreach (var preset in ProviderPresets.All)
        {
            var q = File.QuirksFor(preset.Name);
            Assert.Equal(q?.Temperature?.Min, preset.Quirks.MinTemperature);
            Assert.Equal(q?.Temperature?.Max, preset.Quirks.MaxTemperature);
            Assert.Equal(q?.Temperature?.ExclusiveMin ?? false, preset.Quirks.TemperatureExclusiveMin);
            Assert.Equal(q?.N?.Supported ?? true, preset.Quirks.SupportsN);
            Assert.Equal(q?.StreamUsage?.Supported ?? true, preset.Quirks.SupportsStreamUsage);
            Assert.Equal(q?.MaxOutputTokens?.Value, preset.Quirks.MaxOutputTokens);
            var fixedModels = q?.FixedSampling?.SelectMany(f => f.Models).Order().ToList() ?? [];
            Assert.Equal(fixedModels, preset.Quirks.FixedSampling?.Keys.Order().ToList() ?? []);
        }

        // Kimi fixes temperature on K2.5 as well as K2.6 (the vendor's parameter table).
        var kimi = ProviderPresets.Find("moonshot")!.Quirks.FixedSampling!;
        Assert.Equal([1.0, 0.6], kimi["KIMI-K2.5"].Temperatures);
        Assert.Equal(1, kimi["kimi-k2.6"].N);
        Assert.False(kimi.ContainsKey("moonshot-v1-128k"));

        // The data decides: another entry gives other quirks, on top of the endpoint facts kept in code.
        var endpoint = new PresetQuirks(AnthropicBaseUrl: "https://example.test/anthropic");
        var applied = CatalogueQuirks.Apply(new QuirksEntry
        {
            Providers = ["x"],
            Temperature = new TemperatureQuirk { Min = 0, Max = 1.5, ExclusiveMin = true, Source = "s" },
            N = new SupportQuirk { Supported = false, Source = "s" },
        }, endpoint);
        Assert.Equal((0d, 1.5d, true, false, true), (applied.MinTemperature!.Value, applied.MaxTemperature!.Value, applied.TemperatureExclusiveMin, applied.SupportsN, applied.SupportsStreamUsage));
        Assert.Equal("https://example.test/anthropic", applied.AnthropicBaseUrl);
    }

    [Fact]
    public void Unverified_and_retired_entries_are_marked_and_stay_priced_for_old_ledger_rows()
    {
        var catalogue = PriceCatalogue.LoadBuiltIn();
        var pricer = new Pricer(catalogue, new SanjiaOptions());

        // Groq's Llama models: decommissioned 2026-08-16 (third parties quoting Groq's notice), no longer offered.
        var llama = catalogue.Find("groq", "llama-3.3-70b-versatile")!;
        Assert.Equal(new DateOnly(2026, 8, 16), llama.Retired);
        Assert.False(llama.Verified);
        Assert.DoesNotContain("llama-3.3-70b-versatile", ProviderPresets.Find("groq")!.ChatModels);
        var cost = pricer.CostOf("groq", "llama-3.3-70b-versatile", new TokenUsage(1_000_000, 1_000_000));
        Assert.Equal(0.59m + 0.79m, cost.Amount);

        // Figures no vendor page confirms are kept and marked, with the third party named.
        foreach (var id in new[] { "openai/gpt-5.5", "moonshot-cn/kimi-k2.6", "zhipu/glm-5.2", "minimax-cn/MiniMax-M2.7", "qianfan/ernie-5.1" })
        {
            var entry = File.Models.Single(m => m.Provider + "/" + m.Model == id);
            Assert.False(entry.Verified, id);
            Assert.StartsWith("third parties", entry.Source, StringComparison.Ordinal);
            Assert.False(catalogue.Find(entry.Provider, entry.Model)!.Verified, id);
        }
        Assert.True(catalogue.Find("deepseek", "deepseek-flash")!.Verified);

        foreach (var e in File.Models)
        {
            var id = e.Provider + "/" + e.Model;
            Assert.False(string.IsNullOrWhiteSpace(e.Source), id);
            var thirdParty = e.Source!.StartsWith("third parties", StringComparison.Ordinal)
                || e.RetiredSource?.StartsWith("third parties", StringComparison.Ordinal) == true;
            Assert.True(e.Verified == false == thirdParty, id + ": an entry resting on third parties is marked \"verified\": false, and only then");
            Assert.True(e.Retired is null || PriceCatalogue.ParseDate(e.Retired) is not null, id);
        }
        foreach (var u in File.Unpriced ?? [])
        {
            var id = u.Provider + "/" + u.Model;
            Assert.False(string.IsNullOrWhiteSpace(u.Source), id);
            Assert.NotNull(PriceCatalogue.ParseDate(u.Checked));
            Assert.True(u.Verified == false == u.Source!.StartsWith("third parties", StringComparison.Ordinal), id);
        }
    }

    [Fact]
    public void The_docs_tables_are_generated_from_the_catalogue_and_the_presets()
    {
        var providers = Path.Combine(DocsDir(), "providers.md");
        var metering = Path.Combine(DocsDir(), "metering.md");
        var stale = new List<string>();
        Check(providers, "presets", PresetsTable(), stale);
        Check(providers, "quirks", QuirksTable(), stale);
        Check(metering, "catalogue-sources", SourcesTable(), stale);
        Check(metering, "unpriced", UnpricedTable(), stale);
        Assert.True(stale.Count == 0, "These generated tables disagree with the data (rerun with SANJIA_WRITE_DOCS=1 to rewrite them):\n" + string.Join("\n\n", stale));
    }

    private static string PresetsTable()
    {
        var b = new StringBuilder("| preset | base URL | key variable | currency |\n|---|---|---|---|\n");
        foreach (var p in ProviderPresets.All)
        {
            b.Append(CultureInfo.InvariantCulture, $"| `{p.Name}` | {p.BaseUrl} | {(p.ApiKeyEnv is { } env ? $"`{env}`" : "none (opt-in by configuration)")} | {(p.ApiKeyEnv is null ? "— (local)" : p.Currency)} |\n");
        }
        return b.ToString();
    }

    private static string QuirksTable()
    {
        var b = new StringBuilder("| preset | temperature | fixed sampling | `n` > 1 | stream usage | output cap | sources |\n|---|---|---|---|---|---|---|\n");
        foreach (var q in File.Quirks ?? [])
        {
            var t = q.Temperature is { } tq ? $"{(tq.ExclusiveMin ? "(" : "[")}{Num(tq.Min)}, {Num(tq.Max)}]" : "[0, 2] (OpenAI's)";
            var f = q.FixedSampling is { Count: > 0 } fs
                ? string.Join("; ", fs.Select(x => $"{string.Join(", ", x.Models.Select(m => $"`{m}`"))}: temperature {string.Join(" or ", x.Temperatures.Select(Num))}{(x.N is { } n ? $", n = {n}" : "")}"))
                : "—";
            var sources = string.Join("; ", Facts(q).Select(x => $"{x.Name}: {x.Fact.Source}{(x.Fact.Verified == false ? " (**unverified**)" : "")}"));
            b.Append(CultureInfo.InvariantCulture, $"| {string.Join(", ", q.Providers.Select(p => $"`{p}`"))} | {t} | {f} | {(q.N?.Supported == false ? "refused (400)" : "accepted")} | {(q.StreamUsage?.Supported == false ? "estimated" : "asked for")} | {(q.MaxOutputTokens is { } c ? c.Value.ToString(CultureInfo.InvariantCulture) : "—")} | {sources} |\n");
        }
        return b.ToString();
    }

    private static string SourcesTable()
    {
        var b = new StringBuilder("| Preset | Source | Checked | Verified | Models |\n|---|---|---|---|---|\n");
        foreach (var g in File.Models.GroupBy(m => (m.Provider, m.Currency, m.Source, m.Checked, Verified: m.Verified ?? true)))
        {
            var models = string.Join(", ", g.Select(m => $"`{m.Model}`" + (m.Retired is { } r ? $" (retired {r})" : "")));
            b.Append(CultureInfo.InvariantCulture, $"| `{g.Key.Provider}` ({g.Key.Currency}) | {g.Key.Source} | {g.Key.Checked} | {(g.Key.Verified ? "yes" : "**no**")} | {models} |\n");
        }
        return b.ToString();
    }

    private static string UnpricedTable()
    {
        var b = new StringBuilder("| Preset | Model | Why | Checked | Source |\n|---|---|---|---|---|\n");
        foreach (var u in File.Unpriced ?? [])
        {
            var retired = u.Retired is { } r ? $" Retires {r} ({u.RetiredSource})." : "";
            b.Append(CultureInfo.InvariantCulture, $"| `{u.Provider}` | `{u.Model}`{(u.Verified == false ? " (**unverified**)" : "")} | {u.Reason}{retired} | {u.Checked} | {u.Source} |\n");
        }
        return b.ToString();
    }

    private static IEnumerable<(string Name, QuirkFact Fact)> Facts(QuirksEntry q)
    {
        if (q.Temperature is { } t) yield return ("temperature", t);
        foreach (var f in q.FixedSampling ?? []) yield return ("fixed sampling", f);
        if (q.N is { } n) yield return ("n", n);
        if (q.StreamUsage is { } s) yield return ("stream usage", s);
        if (q.MaxOutputTokens is { } c) yield return ("output cap", c);
    }

    private static string Num(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Compares the text between <c>&lt;!-- generated: name --&gt;</c> and <c>&lt;!-- end: name --&gt;</c> with the expected table.</summary>
    private static void Check(string path, string name, string expected, List<string> stale)
    {
        var text = System.IO.File.ReadAllText(path);
        var begin = $"<!-- generated: {name} (from catalogue.json and the presets by CatalogueDataTests; do not edit by hand) -->\n";
        var end = $"<!-- end: {name} -->";
        var start = text.IndexOf(begin, StringComparison.Ordinal);
        var stop = text.IndexOf(end, StringComparison.Ordinal);
        Assert.True(start >= 0 && stop > start, $"{Path.GetFileName(path)} has no generated section '{name}' (markers: {begin.Trim()} … {end})");
        var actual = text[(start + begin.Length)..stop];
        if (actual == expected) return;
        if (Environment.GetEnvironmentVariable("SANJIA_WRITE_DOCS") == "1")
        {
            System.IO.File.WriteAllText(path, text[..(start + begin.Length)] + expected + text[stop..]);
            return;
        }
        stale.Add($"{Path.GetFileName(path)} '{name}' should read:\n{expected}");
    }

    private static string DocsDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "Sanjia.slnx"))) return Path.Combine(dir.FullName, "docs");
        }
        throw new InvalidOperationException("Sanjia.slnx not found above " + AppContext.BaseDirectory);
    }
}
