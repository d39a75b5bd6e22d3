using System.Text;
using LLama;
using LLama.Exceptions;

namespace Sanjia.Providers.Local;

/// <summary>
/// Turns chat messages into the prompt text a model was trained on: the chat template in the GGUF metadata when
/// llama.cpp knows it, else the configured fallback (see README.md).
/// </summary>
internal sealed class PromptFormat
{
    public const string ChatMl = "chatml";
    public const string Plain = "plain";

    private readonly LLamaWeights? _weights;
    private readonly string? _builtin;

    private PromptFormat(string name, LLamaWeights? weights, string? builtin, IReadOnlyList<string> implicitStops)
    {
        Name = name;
        _weights = weights;
        _builtin = builtin;
        ImplicitStops = implicitStops;
    }

    /// <summary>"model", "chatml" or "plain", for logs.</summary>
    public string Name { get; }

    /// <summary>Markers that end an assistant turn under this format when the model writes them as plain text.</summary>
    public IReadOnlyList<string> ImplicitStops { get; }

    /// <summary>The model's own template if it has one llama.cpp can apply, else the fallback.</summary>
    public static PromptFormat For(LLamaWeights weights, string fallback, out bool modelTemplateUnusable)
    {
        modelTemplateUnusable = false;
        if (weights.NativeHandle.GetTemplate(null, false) is not null)
        {
            var model = new PromptFormat("model", weights, null, []);
            try
            {
                // llama.cpp applies only templates it recognises; probe once rather than failing every request.
                model.Apply([("system", "s"), ("user", "u")]);
                return model;
            }
            catch (MissingTemplateException)
            {
                modelTemplateUnusable = true;
            }
        }
        return Fallback(fallback);
    }

    public static PromptFormat Fallback(string fallback) =>
        string.Equals(fallback, Plain, StringComparison.OrdinalIgnoreCase)
            ? new PromptFormat(Plain, null, null, [])
            : new PromptFormat(ChatMl, null, ChatMl, ["<|im_end|>", "<|im_start|>"]);

    public string Apply(IReadOnlyList<(string Role, string Content)> messages)
    {
        if (Name == Plain)
        {
            // Base models continue text; role markers would only leak into their output.
            var sb = new StringBuilder();
            foreach (var (_, content) in messages)
            {
                if (content.Length == 0) continue;
                if (sb.Length > 0) sb.Append("\n\n");
                sb.Append(content);
            }
            return sb.ToString();
        }

        var template = _weights is not null
            ? new LLamaTemplate(_weights.NativeHandle, null, true) { AddAssistant = true }
            : new LLamaTemplate(_builtin!) { AddAssistant = true };
        foreach (var (role, content) in messages)
        {
            template.Add(role, content);
        }
        return Encoding.UTF8.GetString(template.Apply());
    }
}
