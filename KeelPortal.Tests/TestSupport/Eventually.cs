namespace KeelPortal.Tests.TestSupport;

/// <summary>Waits on a condition with a timeout instead of sleeping a fixed time.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, TimeSpan timeout, string? because = null)
    {
        await TrueAsync(() => Task.FromResult(condition()), timeout, because);
    }

    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string? because = null)
    {
        if (!await WithinAsync(condition, timeout))
        {
            throw new TimeoutException($"condition not met within {timeout.TotalSeconds:0.#} s{(because is null ? "" : ": " + because)}");
        }
    }

    /// <summary>
    /// Whether the condition came true within <paramref name="timeout"/> (a benchmark reports a miss rather than
    /// failing). An exception <paramref name="transient"/> accepts counts as "not yet" (a database busy with a run).
    /// </summary>
    public static async Task<bool> WithinAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<Exception, bool>? transient = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return true;
                }
            }
            catch (Exception e) when (transient?.Invoke(e) == true)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Reads a value until it meets the condition, and returns it.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T>> read, Func<T, bool> condition, string because, TimeSpan? timeout = null)
    {
        var value = await read();
        await TrueAsync(async () => condition(value = await read()), timeout ?? TimeSpan.FromSeconds(20), because);
        return value;
    }
}
