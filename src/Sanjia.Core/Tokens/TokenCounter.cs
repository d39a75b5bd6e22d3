using Microsoft.ML.Tokenizers;

namespace Sanjia.Core.Tokens;

/// <summary>
/// Counts tokens when an upstream does not report them (streams without usage, disconnected clients, local
/// embeddings). Uses o200k_base, the encoding of current OpenAI models: for other vendors' tokenizers the figure
/// is an estimate, and is always marked as such in the ledger. Loaded on first use (it takes ~100 ms).
/// </summary>
public static class TokenCounter
{
    private static readonly Lazy<Tokenizer> Tokenizer = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    public static int Count(string text) => string.IsNullOrEmpty(text) ? 0 : Tokenizer.Value.CountTokens(text);

    public static int Count(ReadOnlySpan<char> text) => text.IsEmpty ? 0 : Tokenizer.Value.CountTokens(text);

    /// <summary>Prompt tokens for a chat: the text plus OpenAI's documented per-message framing overhead.</summary>
    public static int CountPrompt(string promptText, int messageCount = 1) => Count(promptText) + 3 + (4 * messageCount);
}
