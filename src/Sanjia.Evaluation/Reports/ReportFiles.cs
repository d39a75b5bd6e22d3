namespace Sanjia.Evaluation.Reports;

/// <summary>Writes <c>report.md</c>, <c>report.html</c> and <c>report.json</c> into a folder; returns their paths.</summary>
public static class ReportFiles
{
    public static IReadOnlyList<string> Write(ComparisonReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        var files = new (string Name, string Text)[]
        {
            ("report.md", MarkdownReport.Render(report)),
            ("report.html", HtmlReport.Render(report)),
            ("report.json", JsonReport.Render(report)),
        };
        var paths = new List<string>();
        foreach (var (name, text) in files)
        {
            var path = Path.Combine(directory, name);
            File.WriteAllText(path, text);
            paths.Add(path);
        }
        return paths;
    }
}
