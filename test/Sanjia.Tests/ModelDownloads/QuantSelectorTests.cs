using Sanjia.ModelDownloads;

namespace Sanjia.Tests.ModelDownloads;

public sealed class QuantSelectorTests
{
    private static readonly HubRepoFile[] Qwen =
    [
        new("README.md", 1), new("qwen2.5-0.5b-instruct-q4_k.gguf", 1), new("qwen2.5-0.5b-instruct-q4_k_m.gguf", 1),
        new("qwen2.5-0.5b-instruct-Q8_0.gguf", 1), new("mmproj-qwen2.5-q4_k_m.gguf", 1),
        new("split/qwen2.5-0.5b-instruct-f16-00001-of-00002.gguf", 1), new("split/qwen2.5-0.5b-instruct-f16-00002-of-00002.gguf", 1),
    ];

    [Theory]
    [InlineData("Q4_K_M", "qwen2.5-0.5b-instruct-q4_k_m.gguf")] // not the mmproj projector
    [InlineData("q4_k", "qwen2.5-0.5b-instruct-q4_k.gguf")]     // a tag is a whole part of the name: not q4_k_m
    [InlineData("q8_0", "qwen2.5-0.5b-instruct-Q8_0.gguf")]     // case ignored
    [InlineData(null, "qwen2.5-0.5b-instruct-q4_k_m.gguf")]     // default Q4_K_M, as llama.cpp
    public void A_tag_picks_the_one_file_that_carries_it(string? tag, string expected)
    {
        var (file, _, error) = QuantSelector.Select("Qwen/Qwen2.5-0.5B-Instruct-GGUF", tag, Qwen);

        Assert.Null(error);
        Assert.Equal(expected, file!.Path);
    }

    [Theory]
    [InlineData("F16", "split_model")]
    [InlineData("Q2_K", "quant_not_found")]
    public void A_split_or_missing_quantisation_is_refused(string tag, string code)
    {
        var (file, _, error) = QuantSelector.Select("Qwen/Qwen2.5-0.5B-Instruct-GGUF", tag, Qwen);

        Assert.Null(file);
        Assert.Equal(code, error!.Code);
    }

    [Fact]
    public void Two_files_with_the_tag_are_refused_with_both_names()
    {
        var (_, _, error) = QuantSelector.Select("o/r", "Q4_K_M", [new("a-Q4_K_M.gguf", 1), new("a-UD-Q4_K_M.gguf", 1)]);

        Assert.Equal("ambiguous_quant", error!.Code);
        Assert.Contains("a-UD-Q4_K_M.gguf", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_tag_the_only_gguf_file_is_taken()
    {
        var (file, tag, error) = QuantSelector.Select("o/r", null, [new("model-f32.gguf", 1), new("README.md", 1)]);

        Assert.Null(error);
        Assert.Equal(("model-f32.gguf", (string?)null), (file!.Path, tag));
    }

    [Theory]
    [InlineData("Qwen/Qwen2.5-0.5B-Instruct-GGUF", "Q4_K_M", "qwen2.5-0.5b-instruct-q4_k_m")]
    [InlineData("bartowski/Llama-3.2-1B-Instruct-GGUF", "IQ4_XS", "llama-3.2-1b-instruct-iq4_xs")]
    [InlineData("org/model", "q8_0", "model-q8_0")]
    public void A_pulled_quantisation_is_named_after_the_repository_and_the_tag(string repo, string tag, string name) =>
        Assert.Equal(name, LocalModelName.ForQuant(repo, tag));
}
