namespace Sanjia.Core.Caching.Semantic;

/// <summary>
/// A lexical check after the cosine: sentence embeddings score a question and its near-twin that asks the opposite
/// (weekends and weekdays, minimum and maximum, a string to an integer and an integer to a string) as nearly the same,
/// 0.95 to 0.996 with MiniLM on the paraphrase set, above any threshold that still answers paraphrases. So a stored
/// question is not served for a query when the two differ in their numbers, differ only by a negation, hold the same
/// words in another order, or differ in one content word at one place where the two words are affixal opposites
/// (they share a beginning or an ending of four letters or more without one containing the other: weekend/weekday,
/// minimum/maximum, enable/disable, import/export, upgrade/downgrade), after dropping case, punctuation, English
/// function words and a final "s". Synonyms (make/create) and reordered phrases (git branches, branches in git) pass.
/// Applies to space-delimited (Latin-script) text; other scripts are left to the embedding.
/// </summary>
public static class ContrastGuard
{
    /// <summary>Words that change how a question is put, not what it asks (interrogatives, auxiliaries, pronouns, articles, common prepositions).</summary>
    private static readonly HashSet<string> FunctionWords = new(StringComparer.Ordinal)
    {
        "a", "an", "the", "of", "to", "in", "on", "at", "for", "from", "by", "with", "about", "as", "into", "onto", "via",
        "how", "what", "which", "who", "whom", "whose", "where", "when", "why", "whats", "hows",
        "do", "does", "did", "can", "could", "would", "should", "will", "shall", "may", "might", "must",
        "is", "are", "was", "were", "be", "been", "being", "am", "s", "re", "ll", "ve", "d", "m",
        "i", "me", "my", "mine", "we", "us", "our", "you", "your", "it", "its", "they", "them", "their", "this", "that", "these", "those",
        "there", "here", "and", "or", "please", "way", "possible", "able", "tell", "explain", "some", "any", "get",
    };

    private static readonly HashSet<string> Negations = new(StringComparer.Ordinal) { "not", "no", "never", "without", "t", "nor", "none", "cannot" };

    private static readonly HashSet<string> Articles = new(StringComparer.Ordinal) { "a", "an", "the" };

    /// <summary>Whether serving <paramref name="stored"/>'s answer for <paramref name="query"/> would answer another question.</summary>
    public static bool Contrasts(string query, string stored)
    {
        if (!SemanticKey.MostlyLatin(query) || !SemanticKey.MostlyLatin(stored)) return false;
        var a = Words(query, FunctionWords);
        var b = Words(stored, FunctionWords);
        if (a.SequenceEqual(b)) return false;
        if (!Numbers(a).SetEquals(Numbers(b))) return true;
        var onlyA = a.Except(b).ToList();
        var onlyB = b.Except(a).ToList();
        if (onlyA.Count + onlyB.Count > 0 && onlyA.Concat(onlyB).All(Negations.Contains)) return true;
        // The same words, prepositions included, in another order: who does what to whom has changed.
        var allA = Words(query, Articles);
        var allB = Words(stored, Articles);
        if (!allA.SequenceEqual(allB) && allA.Order(StringComparer.Ordinal).SequenceEqual(allB.Order(StringComparer.Ordinal))) return true;
        if (a.Count == b.Count)
        {
            var at = -1;
            for (var i = 0; i < a.Count; i++)
            {
                if (a[i] == b[i]) continue;
                if (at >= 0) return false; // two or more words differ: the embedding judges
                at = i;
            }
            return at >= 0 && AffixalOpposites(a[at], b[at]);
        }
        return false;
    }

    /// <summary>Two different words sharing a beginning or an ending of four letters or more, neither inside the other (not an inflection).</summary>
    internal static bool AffixalOpposites(string x, string y)
    {
        if (x.Contains(y, StringComparison.Ordinal) || y.Contains(x, StringComparison.Ordinal)) return false;
        var prefix = 0;
        while (prefix < x.Length && prefix < y.Length && x[prefix] == y[prefix]) prefix++;
        var suffix = 0;
        while (suffix < x.Length && suffix < y.Length && x[^(suffix + 1)] == y[^(suffix + 1)]) suffix++;
        return prefix >= 4 || suffix >= 4;
    }

    /// <summary>Lower-cased words without <paramref name="dropped"/>, a plural or third-person "s" taken off (invoice and invoices are one word).</summary>
    internal static List<string> Words(string text, HashSet<string> dropped)
    {
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && char.IsLetterOrDigit(text[i]))
            {
                if (start < 0) start = i;
                continue;
            }
            if (start < 0) continue;
            var word = text[start..i].ToLowerInvariant();
            start = -1;
            if (dropped.Contains(word)) continue;
            if (word.Length > 3 && word[^1] == 's' && word[^2] != 's') word = word[..^1];
            words.Add(word);
        }
        return words;
    }

    private static HashSet<string> Numbers(List<string> words) => [.. words.Where(w => w.Any(char.IsDigit))];
}
