using Sanjia.Core.Caching.Semantic;

namespace Sanjia.Core.Tests.Caching.Semantic;

public sealed class ContrastGuardTests
{
    [Theory]
    [InlineData("What are your opening hours on weekends?", "What are your opening hours on weekdays?")]
    [InlineData("What is the minimum age to open an account?", "What is the maximum age to open an account?")]
    [InlineData("How do I enable dark mode?", "How do I disable dark mode?")]
    [InlineData("How do I convert a string to an integer in JavaScript?", "How do I convert an integer to a string in JavaScript?")]
    [InlineData("Can I return an item after 30 days?", "Can I return an item after 60 days?")]
    [InlineData("Why can I log in?", "Why can't I log in?")]
    public void Near_twins_that_ask_the_opposite_contrast(string query, string stored) =>
        Assert.True(ContrastGuard.Contrasts(query, stored));

    [Theory]
    [InlineData("How do I create a pivot table in Excel?", "How can I make a pivot table in Excel?")]
    [InlineData("How do I merge two branches in git?", "How can I merge two git branches?")]
    [InlineData("Where can I find my invoice?", "Where do I find my invoices?")]
    [InlineData("How do I find duplicate rows in SQL?", "How can I find duplicated rows with SQL?")]
    [InlineData("Where is the nearest train station?", "Where's the closest train station?")]
    [InlineData("法国的首都是哪里？", "德国的首都是哪里？")] // other scripts: the embedding decides
    public void Paraphrases_and_other_scripts_do_not(string query, string stored) =>
        Assert.False(ContrastGuard.Contrasts(query, stored));
}
