using System.Diagnostics;
using System.Text.Json.Nodes;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Core.Tests.OpenApi;

/// <summary>The validator itself: it loads the real spec, and it rejects what the spec rejects (it is not vacuous).</summary>
public sealed class OpenApiSpecTests
{
    private const string ValidCompletion = """
        {
          "id": "chatcmpl-1", "object": "chat.completion", "created": 1741570283, "model": "gpt-4o",
          "choices": [ { "index": 0, "message": { "role": "assistant", "content": "Hi", "refusal": null }, "logprobs": null, "finish_reason": "stop" } ],
          "usage": { "prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4 }
        }
        """;

    [Fact]
    public void Loads_the_spec_with_the_component_schemas_tests_use()
    {
        var watch = Stopwatch.StartNew();
        var names = OpenApiSpec.SchemaNames;
        watch.Stop();

        Assert.EndsWith("openai-openapi.yaml", OpenApiSpec.SpecPath, StringComparison.Ordinal);
        foreach (var name in new[] { "CreateChatCompletionResponse", "CreateChatCompletionStreamResponse", "CreateEmbeddingResponse", "ListModelsResponse", "Model", "ErrorResponse" })
            Assert.Contains(name, names);
        // Generous: the brief is "a few seconds", this only catches a pathological regression on a busy machine.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"Loading took {watch.Elapsed}.");
    }

    [Fact]
    public void Every_component_schema_in_the_spec_translates_to_a_usable_json_schema()
    {
        var failures = new List<string>();
        foreach (var name in OpenApiSpec.SchemaNames)
        {
            try
            {
                OpenApiSpec.Validate(name, "{}");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                failures.Add($"{name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.True(OpenApiSpec.SchemaNames.Count > 1000, $"Only {OpenApiSpec.SchemaNames.Count} component schemas were read.");
    }

    [Fact]
    public void A_valid_completion_has_no_errors()
    {
        Assert.Empty(OpenApiSpec.Validate("CreateChatCompletionResponse", ValidCompletion));
        OpenApiSpec.AssertValid("CreateChatCompletionResponse", ValidCompletion);
    }

    [Fact]
    public void A_missing_required_top_level_property_fails_and_names_it()
    {
        var json = Mutate(ValidCompletion, o => o.Remove("model"));

        var errors = OpenApiSpec.Validate("CreateChatCompletionResponse", json);

        Assert.Contains(errors, e => e.StartsWith("(root):", StringComparison.Ordinal) && e.Contains("model", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_required_nested_property_fails_at_its_path()
    {
        var json = Mutate(ValidCompletion, o => o["choices"]![0]!.AsObject().Remove("finish_reason"));

        var errors = OpenApiSpec.Validate("CreateChatCompletionResponse", json);

        Assert.Contains(errors, e => e.StartsWith("/choices/0:", StringComparison.Ordinal) && e.Contains("finish_reason", StringComparison.Ordinal));
    }

    [Fact]
    public void A_wrong_type_in_a_nested_referenced_object_fails_at_its_path()
    {
        var json = Mutate(ValidCompletion, o => o["choices"]![0]!["message"]!["content"] = 42);

        var errors = OpenApiSpec.Validate("CreateChatCompletionResponse", json);

        Assert.Contains(errors, e => e.StartsWith("/choices/0/message/content:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_wrong_type_inside_a_referenced_usage_object_fails_at_its_path()
    {
        var json = Mutate(ValidCompletion, o => o["usage"]!["prompt_tokens"] = "three");

        var errors = OpenApiSpec.Validate("CreateChatCompletionResponse", json);

        Assert.Contains(errors, e => e.StartsWith("/usage/prompt_tokens:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_value_outside_an_enum_fails()
    {
        var json = Mutate(ValidCompletion, o => o["choices"]![0]!["finish_reason"] = "finished");

        var errors = OpenApiSpec.Validate("CreateChatCompletionResponse", json);

        Assert.Contains(errors, e => e.StartsWith("/choices/0/finish_reason:", StringComparison.Ordinal));
    }

    [Fact]
    public void Nullable_fields_accept_null_but_not_other_types()
    {
        const string chunk = """
            { "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
              "choices": [ { "index": 0, "delta": {}, "logprobs": null, "finish_reason": null } ], "usage": null }
            """;
        Assert.Empty(OpenApiSpec.Validate("CreateChatCompletionStreamResponse", chunk));

        // nullable + enum: null is allowed, an unknown reason is not.
        var badReason = Mutate(chunk, o => o["choices"]![0]!["finish_reason"] = "done");
        Assert.Contains(OpenApiSpec.Validate("CreateChatCompletionStreamResponse", badReason), e => e.StartsWith("/choices/0/finish_reason:", StringComparison.Ordinal));

        // nullable + $ref: null is allowed, an object missing required fields is not.
        var badUsage = Mutate(chunk, o => o["usage"] = new JsonObject { ["prompt_tokens"] = 1 });
        Assert.Contains(OpenApiSpec.Validate("CreateChatCompletionStreamResponse", badUsage), e => e.StartsWith("/usage:", StringComparison.Ordinal) && e.Contains("total_tokens", StringComparison.Ordinal));

        var stringUsage = Mutate(chunk, o => o["usage"] = "none");
        Assert.NotEmpty(OpenApiSpec.Validate("CreateChatCompletionStreamResponse", stringUsage));
    }

    [Fact]
    public void AssertValid_throws_with_the_errors_and_the_json()
    {
        var json = Mutate(ValidCompletion, o => o["created"] = "yesterday");

        var e = Assert.Throws<OpenApiValidationException>(() => OpenApiSpec.AssertValid("CreateChatCompletionResponse", json));

        Assert.Contains("CreateChatCompletionResponse", e.Message, StringComparison.Ordinal);
        Assert.Contains("/created:", e.Message, StringComparison.Ordinal);
        Assert.Contains("\"yesterday\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_that_is_not_json_is_reported_as_an_error()
    {
        var errors = OpenApiSpec.Validate("ErrorResponse", "{\"error\": ");

        Assert.Contains(errors, e => e.Contains("not valid JSON", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unknown_schema_name_is_a_programming_error()
    {
        var e = Assert.Throws<ArgumentException>(() => OpenApiSpec.Validate("NoSuchSchema", "{}"));

        Assert.Contains("NoSuchSchema", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_validation_gives_the_same_answers()
    {
        var invalid = Mutate(ValidCompletion, o => o.Remove("id"));

        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() =>
            OpenApiSpec.Validate("CreateChatCompletionResponse", i % 2 == 0 ? ValidCompletion : invalid).Count)));

        for (var i = 0; i < results.Length; i++)
        {
            if (i % 2 == 0) Assert.Equal(0, results[i]);
            else Assert.NotEqual(0, results[i]);
        }
    }

    private static string Mutate(string json, Action<JsonObject> change)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        change(node);
        return node.ToJsonString();
    }
}
