namespace Sanjia.Providers.Local.Tests;

public sealed class InferenceThreadsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Work_runs_on_a_kept_thread_and_what_follows_runs_there_after_the_callers_continuation()
    {
        using var threads = new InferenceThreads(1, "test");
        var order = new List<string>();
        var thens = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var callerWaits = new ManualResetEventSlim();

        var caller = CallerAsync(threads.Run(
            () =>
            {
                callerWaits.Wait(Patience); // the work ends once the caller awaits it, as a generation's start does
                lock (order) order.Add("work");
                return Environment.CurrentManagedThreadId;
            },
            _ =>
            {
                lock (order) order.Add("then");
                thens.SetResult(Environment.CurrentManagedThreadId);
            }), order);
        callerWaits.Set();
        var result = await caller.WaitAsync(Patience);
        var thenThread = await thens.Task.WaitAsync(Patience);

        Assert.Equal(new[] { "work", "caller", "then" }, order);
        Assert.Equal(result, thenThread);
        Assert.Equal(result, await threads.Run(() => Environment.CurrentManagedThreadId).WaitAsync(Patience));
    }

    [Fact]
    public async Task A_failure_reaches_the_caller_and_the_thread_goes_on_serving()
    {
        using var threads = new InferenceThreads(1, "test");
        var thenRan = false;

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(
            () => threads.Run<int>(() => throw new InvalidOperationException("boom"), _ => thenRan = true).WaitAsync(Patience));

        Assert.Equal("boom", ex.Message);
        Assert.False(thenRan);
        Assert.Equal(42, await threads.Run(() => 42).WaitAsync(Patience));
    }

    [Fact]
    public async Task Work_posted_back_to_back_runs_at_once_on_as_many_threads_as_allowed()
    {
        using var threads = new InferenceThreads(2, "test");
        // Both threads exist and are idle before the two items arrive together.
        await Task.WhenAll(threads.Run(() => Nap(50)), threads.Run(() => Nap(50))).WaitAsync(Patience);
        Assert.Equal(2, threads.Live);

        using var bothStarted = new CountdownEvent(2);
        var first = threads.Run(() => { bothStarted.Signal(); return bothStarted.Wait(Patience); });
        var second = threads.Run(() => { bothStarted.Signal(); return bothStarted.Wait(Patience); });

        Assert.Equal(new[] { true, true }, await Task.WhenAll(first, second).WaitAsync(Patience));
    }

    [Fact]
    public async Task Beyond_the_allowed_number_work_waits_for_a_thread_to_finish()
    {
        using var threads = new InferenceThreads(1, "test");
        using var release = new ManualResetEventSlim();
        var running = 0;
        var most = 0;
        int Work()
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref most, now);
            release.Wait(Patience);
            Interlocked.Decrement(ref running);
            return now;
        }

        var a = threads.Run(Work);
        var b = threads.Run(Work);
        await Task.Delay(100);
        Assert.False(b.IsCompleted);
        release.Set();

        await Task.WhenAll(a, b).WaitAsync(Patience);
        Assert.Equal(1, most);
        Assert.Equal(1, threads.Live);
    }

    [Fact]
    public async Task Idle_threads_end_and_new_work_starts_a_new_one()
    {
        using var threads = new InferenceThreads(2, "test", TimeSpan.FromMilliseconds(50));
        await Task.WhenAll(threads.Run(() => Nap(20)), threads.Run(() => Nap(20))).WaitAsync(Patience);

        var deadline = DateTime.UtcNow + Patience;
        while (threads.Live > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(0, threads.Live);
        Assert.Equal(7, await threads.Run(() => 7).WaitAsync(Patience));
    }

    /// <summary>Awaits as the gateway does (ConfigureAwait(false)), so the continuation runs on the inference thread.</summary>
    private static async Task<int> CallerAsync(Task<int> work, List<string> order)
    {
        var result = await work.ConfigureAwait(false);
        lock (order) order.Add("caller");
        return result;
    }

    private static int Nap(int ms)
    {
        Thread.Sleep(ms);
        return ms;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current) return;
            current = seen;
        }
    }
}
