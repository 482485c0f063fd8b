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
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"condition not met within {timeout.TotalSeconds:0.#} s{(because is null ? "" : ": " + because)}");
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
