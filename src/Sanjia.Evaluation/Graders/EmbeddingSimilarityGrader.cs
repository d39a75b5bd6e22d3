using System.Globalization;

namespace Sanjia.Evaluation.Graders;

/// <summary>
/// <c>embedding</c>: cosine similarity between the answer and the expected text, embedded by <c>model</c> through the
/// gateway (default <c>local/all-minilm-l6-v2</c>, the in-process MiniLM). Score = similarity clamped to [0, 1];
/// passes at <c>threshold</c> (default 0.8).
/// </summary>
public sealed class EmbeddingSimilarityGrader : IGrader, ICallsModels
{
    public const string DefaultModel = "local/all-minilm-l6-v2";

    private readonly string _expected;
    private readonly string _model;
    private readonly double _threshold;

    public IEnumerable<string> Models => [_model];

    public EmbeddingSimilarityGrader(GraderSettings s)
    {
        _expected = s.ExpectedText();
        _model = s.String("model") ?? DefaultModel;
        _threshold = s.Number("threshold") ?? 0.8;
        if (_threshold is < -1 or > 1) throw s.Error("threshold", "must be between -1 and 1.");
        s.RejectUnknown();
    }

    public async ValueTask<Grade> GradeAsync(GradeContext context, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(context.Output)) return Grade.Fail("empty answer");
        var (vectors, error) = await context.Runner.EmbedAsync(_model, [context.Output, _expected], cancellationToken).ConfigureAwait(false);
        if (vectors is null) return Grade.Broken(error ?? "no embeddings");
        var similarity = Cosine(vectors[0], vectors[1]);
        var text = similarity.ToString("0.000", CultureInfo.InvariantCulture);
        return new Grade(Math.Clamp(similarity, 0, 1), similarity >= _threshold, $"similarity {text}");
    }

    internal static double Cosine(float[] a, float[] b)
    {
        if (a.Length != b.Length || a.Length == 0) return 0;
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb);
    }
}
