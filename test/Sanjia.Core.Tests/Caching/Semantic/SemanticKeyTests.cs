using System.Text;
using System.Text.Json;
using Sanjia.Core.Caching.Semantic;

namespace Sanjia.Core.Tests.Caching.Semantic;

/// <summary>The partition is the exact key of everything but the last user turn; the text is that turn's.</summary>
public sealed class SemanticKeyTests
{
    private static byte[] Body(object[] messages, double temperature = 0, string model = "chat", object? tools = null) =>
        Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["model"] = model,
            ["temperature"] = temperature,
            ["messages"] = messages,
            ["tools"] = tools,
        }));

    private static object User(object content) => new { role = "user", content };

    private static (UInt128 Partition, string Text)? Of(byte[] body, string scope = "key:k1", string model = "emb") => SemanticKey.Of(body, "chat", scope, model);

    [Fact]
    public void Questions_in_the_same_context_share_a_partition_and_each_gives_its_own_text()
    {
        var system = new { role = "system", content = "Be brief." };

        var a = Of(Body([system, User("What is the capital of France?")]))!.Value;
        var b = Of(Body([system, User("Which city is France's capital?")]))!.Value;

        Assert.Equal(a.Partition, b.Partition);
        Assert.Equal(("What is the capital of France?", "Which city is France's capital?"), (a.Text, b.Text));
    }

    [Fact]
    public void Everything_else_must_match_system_prompt_earlier_turns_sampling_tools_scope_and_embedding_model()
    {
        var q = User("What is the capital of France?");
        var baseline = Of(Body([new { role = "system", content = "Be brief." }, q]))!.Value.Partition;

        UInt128[] others =
        [
            Of(Body([new { role = "system", content = "Be verbose." }, q]))!.Value.Partition,
            Of(Body([new { role = "system", content = "Be brief." }, User("Hi"), new { role = "assistant", content = "Hello" }, q]))!.Value.Partition,
            Of(Body([new { role = "system", content = "Be brief." }, q], temperature: 0.5))!.Value.Partition,
            Of(Body([new { role = "system", content = "Be brief." }, q], tools: new[] { new { type = "function", function = new { name = "f" } } }))!.Value.Partition,
            Of(Body([new { role = "system", content = "Be brief." }, q]), scope: "key:k2")!.Value.Partition,
            Of(Body([new { role = "system", content = "Be brief." }, q]), model: "other-emb")!.Value.Partition,
        ];

        Assert.DoesNotContain(baseline, others);
        Assert.Equal(others.Length, others.Distinct().Count());
        // The model the caller spelt is not part of it (the alias it resolved to is).
        Assert.Equal(baseline, Of(Body([new { role = "system", content = "Be brief." }, q], model: "CHAT"))!.Value.Partition);
    }

    [Fact]
    public void Text_parts_are_joined_and_a_turn_with_an_image_or_a_last_message_that_is_not_the_users_is_not_compared()
    {
        var parts = Of(Body([User(new object[] { new { type = "text", text = "Describe" }, new { type = "text", text = "briefly." } })]));
        var image = Of(Body([User(new object[] { new { type = "text", text = "What is this?" }, new { type = "image_url", image_url = new { url = "data:," } } })]));
        var tool = Of(Body([User("Weather?"), new { role = "assistant", content = "calling" }, new { role = "tool", content = "22C", tool_call_id = "c1" }]));
        var empty = Of(Body([User("  ")]));

        Assert.Equal("Describe\nbriefly.", parts!.Value.Text);
        Assert.Null(image);
        Assert.Null(tool);
        Assert.Null(empty);
    }

    [Fact]
    public void The_built_in_models_rule_leaves_out_texts_that_are_mostly_not_latin()
    {
        var body = Body([User("法国的首都是哪里？")]);

        Assert.Null(SemanticKey.Of(body, "chat", "*", "local/all-minilm-l6-v2", latinScriptOnly: true));
        Assert.NotNull(SemanticKey.Of(body, "chat", "*", "bge-m3", latinScriptOnly: false));
        Assert.True(SemanticKey.MostlyLatin("Wie spät ist es in Zürich?"));
        Assert.False(SemanticKey.MostlyLatin("Python中列表和元组有什么区别？"));
    }
}
