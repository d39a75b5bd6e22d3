namespace Sanjia.Evaluation.Reports;

/// <summary>Cost-versus-quality dominance: a model is on the front when no other is at least as cheap and at least as good, and better in one.</summary>
public static class ParetoFront
{
    public static IReadOnlyList<string> Find(IEnumerable<(string Model, double Cost, double Quality)> points)
    {
        var list = points.Where(p => double.IsFinite(p.Cost) && double.IsFinite(p.Quality)).ToList();
        return [.. list
            .Where(p => !list.Any(o => o.Model != p.Model && o.Cost <= p.Cost && o.Quality >= p.Quality && (o.Cost < p.Cost || o.Quality > p.Quality)))
            .OrderBy(p => p.Cost)
            .Select(p => p.Model)];
    }
}
