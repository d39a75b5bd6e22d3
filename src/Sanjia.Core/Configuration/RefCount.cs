namespace Sanjia.Core.Configuration;

/// <summary>
/// Users of a shared resource: starts at one (the owner's), and once it has fallen to zero it cannot be taken again,
/// so the last user to leave is the one that frees the resource. A mutable struct: keep it in a non-readonly field.
/// </summary>
internal struct RefCount
{
    private int _count;

    public RefCount() => _count = 1;

    /// <summary>Adds a user; false once the count has reached zero.</summary>
    public bool TryAdd()
    {
        var n = Volatile.Read(ref _count);
        while (n > 0)
        {
            var seen = Interlocked.CompareExchange(ref _count, n + 1, n);
            if (seen == n) return true;
            n = seen;
        }
        return false;
    }

    /// <summary>Removes a user; true for the last one.</summary>
    public bool Release() => Interlocked.Decrement(ref _count) == 0;
}
