namespace Sanjia.Cli;

// Placeholder replaced by the models pull/list implementation.
public static class ModelsCommand
{
    public static Task<int> RunAsync(string[] args, CancellationToken ct) => Task.FromResult(2);
}
