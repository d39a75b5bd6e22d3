using FsCheck;
using FsCheck.Fluent;
using Sanjia.Core.Json;
using Sanjia.Core.Translation;

namespace Sanjia.Api.FunctionalTests.Hardening;

/// <summary>
/// Level one of the fuzz suite: hostile bodies straight into the parsers and translators, in process. The property is
/// that nothing throws: each either refuses with a <c>GatewayError</c> or produces a request that the next stage
/// (parse, then every vendor translation) also handles. A body is first checked as <c>RequestBody</c> checks every
/// inbound body (<see cref="JsonText.Check"/>), which is the contract these parsers are written to.
/// </summary>
public sealed class TranslatorFuzzTests
{
    private static Config Config(int normalCount) =>
        FsCheck.Config.QuickThrowOnFailure.WithMaxTest(HostileBodies.Count(normalCount)).WithReplay(HostileBodies.Seed, 0x9E3779B97F4A7C15UL)
            .WithQuietOnSuccess(true);

    private static IReadOnlyList<(string Path, string Body)> SeedsFor(params string[] paths) =>
        [.. HostileBodies.Seeds.Where(s => paths.Contains(s.Path))];

    /// <summary>The engine's request through every vendor translation and the pass-through's rewrite.</summary>
    private static void ThroughEveryBackend(ReadOnlyMemory<byte> openAiBody)
    {
        var (request, error) = ChatRequestParser.Parse(openAiBody);
        if (error is not null) return;
        _ = request!.PromptText;
        _ = RequestRewriter.Rewrite(request, "upstream-model", addStreamUsage: true);
        foreach (var drop in new[] { false, true })
        {
            _ = OpenAiToAnthropicRequest.Translate(openAiBody.Span, "claude-x", "anthropic", drop);
            _ = OpenAiToGeminiRequest.Translate(openAiBody.Span, "gemini", drop);
        }
    }

    [Fact]
    public void Chat_completions_bodies_never_throw_in_the_parser_or_any_vendor_translation() =>
        Check.One(Config(1000), Prop.ForAll(HostileBodies.Arbitrary(SeedsFor("/v1/chat/completions")), c =>
        {
            if (JsonText.Check(c.Body) is not null) return;
            ThroughEveryBackend(c.Body);
        }));

    [Fact]
    public void Anthropic_messages_bodies_never_throw_in_translation_or_after_it() =>
        Check.One(Config(1000), Prop.ForAll(HostileBodies.Arbitrary(SeedsFor("/v1/messages", "/v1/messages/count_tokens")), c =>
        {
            if (JsonText.Check(c.Body) is not null) return;
            foreach (var countOnly in new[] { false, true })
            {
                var t = AnthropicToOpenAiRequest.Translate(c.Body, countOnly);
                if (t.Error is null) ThroughEveryBackend(t.Body!);
            }
        }));

    [Fact]
    public void Responses_bodies_never_throw_in_translation_or_after_it() =>
        Check.One(Config(1000), Prop.ForAll(HostileBodies.Arbitrary(SeedsFor("/v1/responses")), c =>
        {
            if (JsonText.Check(c.Body) is not null) return;
            var t = ResponsesToOpenAiRequest.Translate(c.Body);
            if (t.Error is null) ThroughEveryBackend(t.Body!);
        }));
}
