using System.Text;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;

namespace Sanjia.Providers.Local.Tests;

public sealed class EmbeddingFixture : IDisposable
{
    private readonly LocalProviderSource _source = new();

    public EmbeddingFixture()
    {
        var options = new SanjiaOptions { ModelsDir = "" };
        Backend = _source.Create(options, new ConfigErrors()).Single().Embeddings!;
    }

    public IEmbeddingBackend Backend { get; }

    public void Dispose() => _source.Dispose();
}

public sealed class LocalEmbeddingTests(EmbeddingFixture fixture) : IClassFixture<EmbeddingFixture>
{
    private const string Model = "all-minilm-l6-v2";

    private async Task<EmbeddingResult> EmbedAsync(string[] inputs, int? dimensions = null, bool tokens = false)
    {
        var request = new EmbeddingRequest
        {
            Body = Encoding.UTF8.GetBytes("{}"),
            Model = "local/" + Model,
            Inputs = inputs,
            Dimensions = dimensions,
            InputIsTokens = tokens,
        };
        var outcome = await fixture.Backend.EmbedAsync(new EmbeddingCall(request, Model, "req"), CancellationToken.None);
        Assert.True(outcome.Result is not null, outcome.Error?.Message);
        return outcome.Result;
    }

    private async Task<GatewayError> RejectAsync(int? dimensions = null, bool tokens = false)
    {
        var request = new EmbeddingRequest { Body = Encoding.UTF8.GetBytes("{}"), Model = "local/" + Model, Inputs = ["1 2 3"], Dimensions = dimensions, InputIsTokens = tokens };
        var outcome = await fixture.Backend.EmbedAsync(new EmbeddingCall(request, Model, "req"), CancellationToken.None);
        Assert.Null(outcome.Result);
        return outcome.Error!;
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    [Fact]
    public async Task Vectors_have_384_unit_length_dimensions_and_counted_tokens()
    {
        var result = await EmbedAsync(["The quick brown fox jumps over the lazy dog."], dimensions: 384);

        var vector = Assert.Single(result.Vectors!);
        Assert.Equal(384, vector.Length);
        Assert.InRange(Math.Sqrt(vector.Sum(x => (double)x * x)), 0.99, 1.01);
        Assert.True(result.Usage.Input >= 10, $"counted {result.Usage.Input} tokens"); // nine words plus [CLS]/[SEP]
        Assert.Equal(0, result.Usage.Output);
    }

    [Fact]
    public async Task A_paraphrase_is_closer_than_an_unrelated_sentence()
    {
        var result = await EmbedAsync([
            "How do I reset my password?",
            "What are the steps to change my login password?",
            "The tomato harvest was late this year because of the rain.",
        ]);
        var v = result.Vectors!;

        Assert.True(Cosine(v[0], v[1]) > Cosine(v[0], v[2]) + 0.2, $"paraphrase {Cosine(v[0], v[1]):F3}, unrelated {Cosine(v[0], v[2]):F3}");
    }

    [Fact]
    public async Task Batch_output_keeps_input_order()
    {
        string[] inputs = ["a red apple", "quantum chromodynamics", "a cat sleeping in the sun"];
        var batch = (await EmbedAsync(inputs)).Vectors!;

        Assert.Equal(inputs.Length, batch.Count);
        for (var i = 0; i < inputs.Length; i++)
        {
            var alone = Assert.Single((await EmbedAsync([inputs[i]])).Vectors!);
            Assert.True(Cosine(batch[i], alone) > 0.99, $"input {i} moved");
        }
    }

    [Fact]
    public async Task Token_input_and_other_dimensions_are_rejected_by_name()
    {
        var tokens = await RejectAsync(tokens: true);
        Assert.Equal(GatewayErrorKind.InvalidRequest, tokens.Kind);
        Assert.Equal("input", tokens.Param);

        var dims = await RejectAsync(dimensions: 256);
        Assert.Equal(GatewayErrorKind.InvalidRequest, dims.Kind);
        Assert.Equal("dimensions", dims.Param);
    }
}
