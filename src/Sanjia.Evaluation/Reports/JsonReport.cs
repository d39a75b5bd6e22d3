using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sanjia.Evaluation.Reports;

/// <summary>The report as JSON (camelCase, enums as text, NaN as null), for scripts and the admin API.</summary>
public static class JsonReport
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase), new NanAsNull() },
    };

    public static string Render(ComparisonReport report) => JsonSerializer.Serialize(report, Options);

    public static ComparisonReport? Parse(string json) => JsonSerializer.Deserialize<ComparisonReport>(json, Options);

    private sealed class NanAsNull : JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteNullValue();
        }

        public override bool HandleNull => true;
    }
}
