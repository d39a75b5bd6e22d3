using Sanjia.Evaluation.Suites;

namespace Sanjia.Evaluation.Graders;

/// <summary>
/// Grader type names → factories. Built-ins: exact, contains, regex, json_schema, numeric, embedding, judge.
/// Add custom graders with <see cref="Register"/>; an unknown type in a suite is an error naming its path.
/// </summary>
public sealed class GraderRegistry
{
    private readonly Dictionary<string, Func<GraderSettings, IGrader>> _factories = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="suiteDirectory">Where relative <c>schema_file</c> paths are resolved.</param>
    public GraderRegistry(string? suiteDirectory = null)
    {
        Register("exact", s => new ExactMatchGrader(s));
        Register("contains", s => new ContainsGrader(s));
        Register("regex", s => new RegexGrader(s));
        Register("json_schema", s => new JsonSchemaGrader(s, suiteDirectory));
        Register("numeric", s => new NumericGrader(s));
        Register("embedding", s => new EmbeddingSimilarityGrader(s));
        Register("judge", s => new JudgeGrader(s));
    }

    public IReadOnlyCollection<string> Types => _factories.Keys;

    public GraderRegistry Register(string type, Func<GraderSettings, IGrader> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        ArgumentNullException.ThrowIfNull(factory);
        _factories[type] = factory;
        return this;
    }

    public IGrader Create(GraderSpec spec, EvalCase @case)
    {
        if (!_factories.TryGetValue(spec.Type, out var factory))
        {
            throw new SuiteFormatException($"{spec.Path} (case {@case.Id}): unknown grader type '{spec.Type}' (known: {string.Join(", ", _factories.Keys.Order())}).");
        }
        return factory(new GraderSettings(spec, @case));
    }
}
