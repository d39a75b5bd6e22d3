using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Pricing;
using Sanjia.Core.Reports;
using Sanjia.Providers.OpenAi.Presets;

namespace Sanjia.Core.Tests.Pricing;

public sealed class PricingTests
{
    private static readonly ModelPrice Price = new()
    {
        Currency = "USD", InputPerMTok = 1.25m, CachedInputPerMTok = 0.125m, OutputPerMTok = 10m, ReasoningPerMTok = 12m,
    };

    [Fact]
    public void Cached_tokens_are_charged_at_the_cached_price_and_reasoning_tokens_at_the_reasoning_price()
    {
        // 10 000 prompt tokens of which 8 000 cached; 3 000 completion tokens of which 2 000 reasoning.
        var cost = CostCalculator.Compute(Price, new TokenUsage(Input: 10_000, Output: 3_000, CachedInput: 8_000, Reasoning: 2_000));
        var expected = (2_000 * 1.25m + 8_000 * 0.125m + 1_000 * 10m + 2_000 * 12m) / 1_000_000m;
        Assert.Equal(expected, cost);
        Assert.Equal(0.0375m, cost);
    }

    [Fact]
    public void Missing_cached_and_reasoning_prices_fall_back_to_input_and_output()
    {
        var plain = Price with { CachedInputPerMTok = null, ReasoningPerMTok = null };
        Assert.Equal((10_000 * 1.25m + 3_000 * 10m) / 1_000_000m,
            CostCalculator.Compute(plain, new TokenUsage(10_000, 3_000, CachedInput: 8_000, Reasoning: 2_000)));
    }

    [Fact]
    public void Decimal_arithmetic_is_exact_at_the_smallest_unit()
    {
        var cheap = new ModelPrice { Currency = "CNY", InputPerMTok = 0.8m, OutputPerMTok = 2m };
        var sum = Enumerable.Range(0, 1000).Sum(_ => CostCalculator.Compute(cheap, new TokenUsage(1, 1)));
        Assert.Equal(0.0028m, sum); // 1000 × (0.8 + 2) / 1e6, no floating-point drift
    }

    [Fact]
    public void Worst_case_assumes_no_cache_and_the_dearer_output_price()
    {
        Assert.Equal((100 * 1.25m + 50 * 12m) / 1_000_000m, CostCalculator.WorstCase(Price, 100, 50));
    }

    // Cliff tiers by input length, Qwen-style: up to 32K, above 32K, above 128K; thinking-mode output dearer.
    private static readonly ModelPrice Tiered = new()
    {
        Currency = "CNY", InputPerMTok = 2.5m, CachedInputPerMTok = 0.5m, OutputPerMTok = 10m, ThinkingOutputPerMTok = 20m,
        Tiers =
        [
            new PriceTier { AboveInputTokens = 32_000, InputPerMTok = 4m, OutputPerMTok = 16m, ThinkingOutputPerMTok = 32m },
            new PriceTier { AboveInputTokens = 128_000, InputPerMTok = 7m, CachedInputPerMTok = 1.4m, OutputPerMTok = 28m },
        ],
    };

    [Theory]
    [InlineData(32_000, 2.5, 0.5, 10)]   // at the boundary: still the base tier
    [InlineData(32_001, 4, 0.5, 16)]     // crossed: every token at the tier's rates, unset cached price kept
    [InlineData(200_000, 7, 1.4, 28)]
    public void The_request_input_length_picks_the_tier_for_every_token(int input, double inRate, double cachedRate, double outRate)
    {
        var usage = new TokenUsage(Input: input, Output: 1_000, CachedInput: 1_000);
        var expected = ((input - 1_000) * (decimal)inRate + 1_000 * (decimal)cachedRate + 1_000 * (decimal)outRate) / 1_000_000m;
        Assert.Equal(expected, CostCalculator.Compute(Tiered, usage));
    }

    [Fact]
    public void An_output_band_applies_only_below_its_output_length_and_never_above_a_higher_input_tier()
    {
        // Zhipu GLM-4.7 style: input ≤ 32K and output < 200 is cheaper; input > 32K has one price whatever the output.
        var glm = new ModelPrice
        {
            Currency = "CNY", InputPerMTok = 3m, CachedInputPerMTok = 0.6m, OutputPerMTok = 14m,
            Tiers =
            [
                new PriceTier { AboveInputTokens = 0, BelowOutputTokens = 200, InputPerMTok = 2m, CachedInputPerMTok = 0.4m, OutputPerMTok = 8m },
                new PriceTier { AboveInputTokens = 32_000, InputPerMTok = 4m, CachedInputPerMTok = 0.8m, OutputPerMTok = 16m },
            ],
        };
        Assert.Equal((1_000 * 2m + 199 * 8m) / 1_000_000m, CostCalculator.Compute(glm, new TokenUsage(1_000, 199)));
        Assert.Equal((1_000 * 3m + 200 * 14m) / 1_000_000m, CostCalculator.Compute(glm, new TokenUsage(1_000, 200)));
        Assert.Equal((40_000 * 4m + 100 * 16m) / 1_000_000m, CostCalculator.Compute(glm, new TokenUsage(40_000, 100)));
        // The reservation cannot know the output length: it takes the dearer band.
        Assert.Equal((1_000 * 3m + 150 * 14m) / 1_000_000m, CostCalculator.WorstCase(glm, 1_000, 150));
    }

    [Fact]
    public void A_thinking_answer_pays_the_thinking_output_price_on_all_output_of_its_tier()
    {
        // Base tier: 3 000 output tokens of which 2 000 reasoning, all at 20 (not 10).
        Assert.Equal((1_000 * 2.5m + 3_000 * 20m) / 1_000_000m, CostCalculator.Compute(Tiered, new TokenUsage(1_000, 3_000, Reasoning: 2_000)));
        // Second tier: its own thinking price; the third sets none, so the base one applies (unset rates inherit the base).
        Assert.Equal((40_000 * 4m + 3_000 * 32m) / 1_000_000m, CostCalculator.Compute(Tiered, new TokenUsage(40_000, 3_000, Reasoning: 2_000)));
        Assert.Equal((130_000 * 7m + 3_000 * 20m) / 1_000_000m, CostCalculator.Compute(Tiered, new TokenUsage(130_000, 3_000, Reasoning: 2_000)));
        // No reasoning tokens: the ordinary output price.
        Assert.Equal((1_000 * 2.5m + 3_000 * 10m) / 1_000_000m, CostCalculator.Compute(Tiered, new TokenUsage(1_000, 3_000)));
    }

    [Fact]
    public void Worst_case_uses_the_dearest_rates_of_every_tier_the_prompt_reaches()
    {
        Assert.Equal((1_000 * 2.5m + 500 * 20m) / 1_000_000m, CostCalculator.WorstCase(Tiered, 1_000, 500));
        Assert.Equal((50_000 * 4m + 500 * 32m) / 1_000_000m, CostCalculator.WorstCase(Tiered, 50_000, 500));
        Assert.Equal((150_000 * 7m + 500 * 32m) / 1_000_000m, CostCalculator.WorstCase(Tiered, 150_000, 500));
        // A reservation is never below the settled cost for any usage within its bounds.
        foreach (var input in new[] { 10, 32_000, 32_001, 127_999, 150_000 })
        {
            var worst = CostCalculator.WorstCase(Tiered, input, 800);
            Assert.True(worst >= CostCalculator.Compute(Tiered, new TokenUsage(input, 800, CachedInput: input / 2, Reasoning: 400)), $"input {input}");
        }
    }

    [Fact]
    public void Configured_tiers_and_thinking_price_reach_the_cost()
    {
        var options = new SanjiaOptions();
        options.Metering.Prices["qwen/qwen3-max"] = new PriceOptions
        {
            Currency = "CNY", Input = 2.5m, Output = 10m, ThinkingOutput = 20m,
            Tiers = [new PriceTierOptions { AboveInputTokens = 32_000, Input = 4m, Output = 16m }],
        };
        var pricer = new Pricer(PriceCatalogue.LoadBuiltIn(), options);
        var cost = pricer.CostOf("qwen", "qwen3-max", new TokenUsage(40_000, 1_000));
        Assert.Equal(new Cost((40_000 * 4m + 1_000 * 16m) / 1_000_000m, "CNY"), cost);
        // The tier has no thinking price of its own: it keeps the base one.
        Assert.Equal((40_000 * 4m + 1_000 * 20m) / 1_000_000m, pricer.CostOf("qwen", "qwen3-max", new TokenUsage(40_000, 1_000, Reasoning: 10)).Amount);

        options.Metering.Prices["qwen/qwen3-max"].Tiers.Add(new PriceTierOptions { AboveInputTokens = 16_000, Input = 3m, Output = 12m });
        var errors = new ConfigErrors();
        MeteringOptionsValidator.Validate(options.Metering, errors);
        Assert.Contains(errors.Errors, m => m.Contains("Sanjia:Metering:Prices:qwen/qwen3-max:Tiers:1:AboveInputTokens", StringComparison.Ordinal));

        // An output band's prices are checked like any tier's.
        options.Metering.Prices["qwen/qwen3-max"].Tiers.Add(new PriceTierOptions { AboveInputTokens = 0, BelowOutputTokens = 200, Input = 1m, Output = -2m });
        errors = new ConfigErrors();
        MeteringOptionsValidator.Validate(options.Metering, errors);
        Assert.Contains(errors.Errors, m => m.StartsWith("Sanjia:Metering:Prices:qwen/qwen3-max:Tiers:2: prices must not be negative", StringComparison.Ordinal));
    }

    [Fact]
    public void Off_peak_rates_apply_outside_the_peak_hours_and_the_ledger_prices_at_the_entry_time()
    {
        // DeepSeek's published rule: peak Mon-Fri 01:00-04:00 and 06:00-10:00 UTC, half price otherwise.
        var file = PriceCatalogue.ReadBuiltIn();
        var entry = file.Models.Single(m => m.Provider == "deepseek" && m.Model == "deepseek-flash");
        Assert.NotNull(entry.OffPeak);
        var usage = new TokenUsage(Input: 10_000, Output: 2_000, CachedInput: 4_000);
        decimal Expected(decimal input, decimal cached, decimal output) => (6_000 * input + 4_000 * cached + 2_000 * output) / 1_000_000m;
        var peak = Expected(entry.Input, entry.CachedInput!.Value, entry.Output);
        var offPeak = Expected(entry.OffPeak!.Input, entry.OffPeak.CachedInput!.Value, entry.OffPeak.Output);
        Assert.True(offPeak < peak);

        var pricer = new Pricer(PriceCatalogue.LoadBuiltIn(), new SanjiaOptions());
        var wednesday = new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(peak, pricer.CostOf("deepseek", "deepseek-flash", usage, wednesday.AddHours(1)).Amount);            // 01:00 peak starts
        Assert.Equal(peak, pricer.CostOf("deepseek", "deepseek-flash", usage, wednesday.AddHours(9).AddMinutes(59)).Amount);
        Assert.Equal(offPeak, pricer.CostOf("deepseek", "deepseek-flash", usage, wednesday.AddHours(4)).Amount);      // 04:00 ends the first window
        Assert.Equal(offPeak, pricer.CostOf("deepseek", "deepseek-flash", usage, wednesday.AddHours(10)).Amount);
        Assert.Equal(offPeak, pricer.CostOf("deepseek", "deepseek-flash", usage, wednesday.AddDays(3).AddHours(2)).Amount); // Saturday
        // A time zone other than UTC is read as the same instant: 09:30 in Beijing is 01:30 UTC, peak.
        Assert.Equal(peak, pricer.CostOf("deepseek", "deepseek-flash", usage, new DateTimeOffset(2026, 11, 25, 9, 30, 0, TimeSpan.FromHours(8))).Amount);

        var row = new LedgerEntry
        {
            RequestId = "r1", Timestamp = wednesday.AddHours(12), Endpoint = "chat", Model = "ds", Provider = "deepseek", Deployment = "deepseek/deepseek-flash",
            Usage = usage, Status = 200,
        };
        Assert.Equal(offPeak, pricer.Price(row).Cost);
        Assert.Equal(peak, pricer.Price(row with { Timestamp = wednesday.AddHours(7) }).Cost);
        // Reservations never rely on the cheaper rate.
        Assert.True(CostCalculator.WorstCase(pricer.PriceOf("deepseek", "deepseek-flash")!, 10_000, 2_000) >= peak);
    }

    [Fact]
    public void Off_peak_settings_in_config_are_validated_and_applied()
    {
        var options = new SanjiaOptions();
        options.Metering.Prices["mine/m"] = new PriceOptions
        {
            Currency = "USD", Input = 2, Output = 8,
            OffPeak = new OffPeakOptions { Input = 1, Output = 4, PeakDays = ["Mon", "Tue"], PeakHoursUtc = ["08:00-24:00"] },
        };
        var errors = new ConfigErrors();
        MeteringOptionsValidator.Validate(options.Metering, errors);
        Assert.False(errors.Any, string.Join("; ", errors.Errors));
        var pricer = new Pricer(PriceCatalogue.LoadBuiltIn(), options);
        var monday = new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal((1_000 * 2m + 1_000 * 8m) / 1_000_000m, pricer.CostOf("mine", "m", new TokenUsage(1_000, 1_000), monday.AddHours(23.5)).Amount);
        Assert.Equal((1_000 * 1m + 1_000 * 4m) / 1_000_000m, pricer.CostOf("mine", "m", new TokenUsage(1_000, 1_000), monday.AddHours(7)).Amount);

        options.Metering.Prices["mine/m"].OffPeak!.PeakDays = ["Monday-ish"];
        options.Metering.Prices["mine/m"].OffPeak!.PeakHoursUtc = ["10:00-09:00"];
        errors = new ConfigErrors();
        MeteringOptionsValidator.Validate(options.Metering, errors);
        Assert.Contains(errors.Errors, e => e.StartsWith("Sanjia:Metering:Prices:mine/m:OffPeak:", StringComparison.Ordinal) && e.Contains("Monday-ish", StringComparison.Ordinal));
    }

    [Fact]
    public void Built_in_catalogue_prices_preset_models_with_currency_and_check_date()
    {
        var catalogue = PriceCatalogue.LoadBuiltIn();
        Assert.NotEmpty(catalogue.Entries);
        foreach (var (id, price) in catalogue.Entries)
        {
            var provider = id[..id.IndexOf('/')];
            var preset = ProviderPresets.Find(provider);
            Assert.True(preset is not null, $"{id}: '{provider}' is not a preset");
            // Retired models stay priced (older ledger rows) but the preset no longer lists them.
            var listed = preset!.ChatModels.Concat(preset.EmbeddingModels).Concat(preset.ImageModels).Contains(id[(provider.Length + 1)..]);
            Assert.True(listed != price.Retired.HasValue, $"{id}: listed={listed}, retired={price.Retired}");
            Assert.NotNull(price.Checked);
            Assert.True(price.InputPerMTok >= 0 && price.OutputPerMTok >= 0, id);
            Assert.Equal(preset.Currency, price.Currency);
        }
        Assert.Equal("CNY", catalogue.Find("zhipu", "embedding-3")!.Currency);

        // Tiered and thinking-mode prices load from the file as written: qwen-plus (Beijing) above its first tier.
        var file = PriceCatalogue.ReadBuiltIn();
        var entry = file.Models.Single(m => m.Provider == "qwen" && m.Model == "qwen-plus");
        var tier = entry.Tiers!.First();
        var usage = new TokenUsage(Input: (int)tier.AboveInputTokens + 1, Output: 1_000, Reasoning: 600);
        var expected = (usage.Input * tier.Input + usage.Output * (tier.ThinkingOutput ?? entry.ThinkingOutput ?? tier.Output)) / 1_000_000m;
        Assert.Equal(expected, CostCalculator.Compute(catalogue.Find("qwen", "qwen-plus")!, usage));
        Assert.True(expected > CostCalculator.Compute(catalogue.Find("qwen", "qwen-plus")!, usage with { Input = (int)tier.AboveInputTokens }));
    }

    [Fact]
    public void Every_preset_model_is_priced_or_listed_as_knowingly_unpriced()
    {
        var file = PriceCatalogue.ReadBuiltIn();
        var catalogue = PriceCatalogue.LoadBuiltIn();
        var unpriced = (file.Unpriced ?? []).ToDictionary(u => u.Provider + "/" + u.Model, StringComparer.OrdinalIgnoreCase);
        var pricer = new Pricer(catalogue, new SanjiaOptions());
        var missing = new List<string>();
        var checkedModels = 0;
        foreach (var preset in ProviderPresets.All)
        {
            foreach (var model in preset.ChatModels.Concat(preset.EmbeddingModels))
            {
                checkedModels++;
                var id = preset.Name + "/" + model;
                var price = pricer.PriceOf(preset.Name, model);
                if (price is not null && unpriced.ContainsKey(id))
                {
                    missing.Add(id + " is priced and also listed as unpriced");
                }
                else if (price is null && !unpriced.ContainsKey(id))
                {
                    missing.Add(id + " has no price and is not listed under 'unpriced' in catalogue.json");
                }
            }
        }
        Assert.True(checkedModels > 50, $"{checkedModels} preset models");
        Assert.True(missing.Count == 0, string.Join("\n", missing));

        // Every unpriced entry names a real preset model of the right kind (or a retired one the preset dropped), with a
        // reason, and stays unpriced end to end.
        foreach (var (id, u) in unpriced)
        {
            var preset = ProviderPresets.Find(u.Provider);
            Assert.True(preset is not null, id);
            var listed = (u.Kind == "embedding" ? preset!.EmbeddingModels : preset!.ChatModels).Contains(u.Model);
            Assert.True(listed != (u.Retired is not null), $"{id}: listed={listed}, retired={u.Retired}");
            Assert.False(string.IsNullOrWhiteSpace(u.Reason), id);
            Assert.False(pricer.CostOf(u.Provider, u.Model, new TokenUsage(1000, 1000)).Priced, id);
        }
    }

    [Fact]
    public void A_cny_price_charges_cached_input_and_output_through_the_pricer_in_cny()
    {
        // A China-endpoint deployment (preset qwen, CNY) priced per million tokens as the vendor publishes it.
        var options = new SanjiaOptions();
        options.Providers["bailian"] = new ProviderOptions { Preset = "qwen" };
        options.Metering.Prices["bailian/qwen-plus"] = new PriceOptions { Currency = "cny", Input = 0.8m, CachedInput = 0.16m, Output = 2m };
        var pricer = new Pricer(PriceCatalogue.LoadBuiltIn(), options);

        // 120 000 prompt tokens of which 100 000 hit the cache, 4 000 completion tokens.
        var usage = new TokenUsage(Input: 120_000, Output: 4_000, CachedInput: 100_000);
        var cost = pricer.CostOf("bailian", "qwen-plus", usage);
        var expected = (20_000 * 0.8m + 100_000 * 0.16m + 4_000 * 2m) / 1_000_000m;
        Assert.Equal("CNY", cost.Currency);
        Assert.Equal(expected, cost.Amount);
        Assert.True(cost.Amount < (120_000 * 0.8m + 4_000 * 2m) / 1_000_000m, "cached tokens must be cheaper than uncached");

        // The shipped CNY entry (Zhipu embedding-3) goes through the same arithmetic, in CNY, with no output charge.
        var shipped = PriceCatalogue.LoadBuiltIn().Find("zhipu", "embedding-3")!;
        var embed = new Pricer(PriceCatalogue.LoadBuiltIn(), new SanjiaOptions()).CostOf("zhipu", "embedding-3", new TokenUsage(250_000, 0));
        Assert.Equal("CNY", embed.Currency);
        Assert.Equal(250_000 * shipped.InputPerMTok / 1_000_000m, embed.Amount);
    }

    [Fact]
    public void Importer_reads_the_shared_genai_prices_data()
    {
        var path = "/work/shared/data/genai-prices/data.json";
        Assert.True(File.Exists(path), "the shared genai-prices data is missing");
        using var stream = File.OpenRead(path);
        var result = GenAiPricesImporter.Import(stream, new DateOnly(2026, 11, 28));
        Assert.True(result.Providers >= 30, $"{result.Providers} providers");
        var byId = result.Catalogue.Models.GroupBy(m => m.Provider + "/" + m.Model, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);
        // Plain prices, prices under constraints (first set) and tiered prices (base) are all read.
        Assert.Equal(1.25m, byId["openai/gpt-5"].Input);
        Assert.Equal(0.125m, byId["openai/gpt-5"].CachedInput);
        Assert.Equal(10m, byId["openai/gpt-5"].Output);
        Assert.Equal(0.135m, byId["deepseek/deepseek-chat"].Input);
        Assert.Equal(0.3m, byId["minimax/minimax-m3"].Input);
        Assert.Equal(400000, byId["openai/gpt-5"].ContextWindow);
        Assert.True(byId.ContainsKey("openai/gpt-5-2025-08-07")); // exact match names become entries too
        Assert.True(byId.ContainsKey("moonshot/kimi-k2.6")); // provider ids mapped to preset names
        Assert.All(result.Catalogue.Models, m => Assert.Equal("USD", m.Currency));

        // Tiered prices: each kind of token's cliffs, read independently from the file.
        using (var raw = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path)))
        {
            var checkedTiers = 0;
            foreach (var provider in raw.RootElement.EnumerateArray())
            {
                foreach (var model in provider.GetProperty("models").EnumerateArray())
                {
                    if (!model.TryGetProperty("prices", out var prices) || prices.ValueKind != System.Text.Json.JsonValueKind.Object
                        || !prices.TryGetProperty("input_mtok", out var inRate) || inRate.ValueKind != System.Text.Json.JsonValueKind.Object
                        || !prices.TryGetProperty("output_mtok", out var outRate) || outRate.ValueKind != System.Text.Json.JsonValueKind.Object)
                    {
                        continue;
                    }
                    var name = provider.GetProperty("id").GetString() == "moonshotai" ? "moonshot" : provider.GetProperty("id").GetString();
                    var entry = byId[name + "/" + model.GetProperty("id").GetString()];
                    var start = inRate.GetProperty("tiers")[0].GetProperty("start").GetInt64();
                    var price = entry.ToPrice("imported");
                    var above = price.ForInput(start + 1);
                    Assert.Equal(inRate.GetProperty("base").GetDecimal(), price.ForInput(start).InputPerMTok);
                    Assert.Equal(inRate.GetProperty("tiers")[0].GetProperty("price").GetDecimal(), above.InputPerMTok);
                    Assert.Equal(outRate.GetProperty("tiers")[0].GetProperty("price").GetDecimal(), above.OutputPerMTok);
                    checkedTiers++;
                }
            }
            Assert.True(checkedTiers >= 5, $"{checkedTiers} tiered models");
        }
        var pro = byId["google/gemini-2.5-pro"].ToPrice("imported");
        Assert.Equal((250_000 * 2.5m + 1_000 * 15m) / 1_000_000m, CostCalculator.Compute(pro, new TokenUsage(250_000, 1_000)));

        // Round trip through the catalogue file format.
        using var buffer = new MemoryStream();
        PriceCatalogue.Write(result.Catalogue, buffer);
        buffer.Position = 0;
        var catalogue = new PriceCatalogue();
        catalogue.AddAll(PriceCatalogue.Read(buffer), "imported");
        Assert.Equal(1.25m, catalogue.Find("openai", "gpt-5")!.InputPerMTok);
    }

    [Fact]
    public void Importer_rejects_a_file_of_another_format()
    {
        using var stream = new MemoryStream("""{"models":[]}"""u8.ToArray());
        Assert.Throws<FormatException>(() => GenAiPricesImporter.Import(stream, default));
    }

    [Fact]
    public void Config_overrides_win_local_models_cost_zero_and_unknown_models_are_unpriced()
    {
        var options = new SanjiaOptions();
        options.Metering.Prices["openai/gpt-5"] = new PriceOptions { Currency = "EUR", Input = 1, Output = 2 };
        options.Providers["mine"] = new ProviderOptions { Preset = "openai" };
        var pricer = new Pricer(PriceCatalogue.LoadBuiltIn(), options);
        Assert.Equal("EUR", pricer.PriceOf("openai", "gpt-5")!.Currency);
        Assert.Equal("USD", pricer.PriceOf("mine", "gpt-5-mini")!.Currency); // via the provider's preset
        Assert.Equal(0m, pricer.CostOf("local", "qwen.gguf", new TokenUsage(100, 100)).Amount);
        Assert.Equal(0m, pricer.CostOf("ollama", "qwen3-coder", new TokenUsage(100, 100)).Amount);
        var unknown = pricer.CostOf("openai", "no-such-model", new TokenUsage(100, 100));
        Assert.False(unknown.Priced);
        Assert.Null(unknown.Amount);

        options.Metering.LocalCompute = new PriceOptions { Currency = "USD", Input = 0.01m, Output = 0.02m };
        Assert.Equal(0.000003m, new Pricer(PriceCatalogue.LoadBuiltIn(), options).CostOf("local", "x", new TokenUsage(100, 100)).Amount);
    }

    [Fact]
    public void Spend_report_and_usage_stats_name_the_master_key_alike()
    {
        var t = new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
        LedgerEntry[] entries =
        [
            new() { RequestId = "m", Timestamp = t, Endpoint = "/v1/chat/completions", Model = "gpt", Status = 200, Usage = new TokenUsage(1, 1), Cost = 1m, Currency = "USD" },
            new() { RequestId = "k", Timestamp = t, Endpoint = "/v1/chat/completions", Model = "gpt", Status = 200, KeyId = "key_1", Usage = new TokenUsage(1, 1), Cost = 1m, Currency = "USD" },
        ];
        var (report, _) = SpendReport.Build(entries, "key", t, t.AddDays(1), null, new CurrencyConverter(new MeteringOptions()));

        Assert.Equal(["key_1", "master"], report!.Rows.Select(r => r.Group).Order(StringComparer.Ordinal));
        Assert.Equal(["master", "key_1"], entries.Select(LedgerStats.GroupKey("key")!));
    }

    [Fact]
    public void Spend_report_never_adds_currencies_without_a_rate_and_totals_match_an_independent_sum()
    {
        var t = new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
        var rng = new Random(7);
        var entries = Enumerable.Range(0, 500).Select(i => new LedgerEntry
        {
            RequestId = "r" + i, Timestamp = t.AddMinutes(i), Endpoint = "/v1/chat/completions", Model = i % 3 == 0 ? "glm" : "gpt", Status = 200,
            KeyId = "k" + (i % 4), Usage = new TokenUsage(rng.Next(1, 5000), rng.Next(1, 500)),
            Cost = i % 10 == 9 ? null : Math.Round((decimal)rng.NextDouble(), 9), Currency = i % 10 == 9 ? null : i % 3 == 0 ? "CNY" : "USD",
        }).ToList();
        var converter = new CurrencyConverter(new MeteringOptions());
        var (report, error) = SpendReport.Build(entries, "key", t, t.AddDays(1), null, converter);
        Assert.Null(error);
        foreach (var currency in new[] { "USD", "CNY" })
        {
            var independent = 0m;
            foreach (var e in entries) if (e.Currency == currency && e.Cost is { } c) independent += c;
            Assert.Equal(independent, report!.Totals.Single(x => x.Currency == currency).Cost);
        }
        Assert.Equal(50, report!.Totals.Single(x => x.Currency is null).UnpricedRequests);

        var (_, missingRate) = SpendReport.Build(entries, "model", t, t.AddDays(1), "USD", converter);
        Assert.Contains("ExchangeRates:CNY:USD", missingRate);

        var withRate = new CurrencyConverter(new MeteringOptions { ExchangeRates = { ["CNY"] = new() { ["USD"] = 0.14m } } });
        var (converted, _) = SpendReport.Build(entries, "model", t, t.AddDays(1), "USD", withRate);
        var expected = entries.Where(e => e.Cost is not null).Sum(e => e.Currency == "CNY" ? e.Cost!.Value * 0.14m : e.Cost!.Value);
        Assert.Equal(expected, converted!.Totals.Single(x => x.Currency == "USD").Cost);
    }
}
