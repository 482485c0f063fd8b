namespace KeelPortal.Jobs;

/// <summary>
/// Runs work at once on the thread pool, each piece in its own service scope, instead of waiting for the job queue's
/// next poll. Only for work whose outcome is already durable elsewhere (a stored approval, a scheduled job that stands
/// in for it): a run lost with the process is redone from there. Shutdown cancels the runs and waits for them.
/// </summary>
public sealed partial class PromptRunner(IServiceScopeFactory scopes, ILogger<PromptRunner> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource stopping = new();
    private readonly HashSet<Task> running = [];

    /// <summary>
    /// Starts <paramref name="work"/> with a <typeparamref name="T"/> from a new scope; false when the portal is stopping
    /// and nothing was started. <paramref name="failed"/> hears of any failure other than the stop.
    /// </summary>
    public bool TryRun<T>(string what, Func<T, CancellationToken, Task> work, Action<Exception> failed) where T : notnull
    {
        if (stopping.IsCancellationRequested)
        {
            return false;
        }
        var task = Task.Run(async () =>
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await work(scope.ServiceProvider.GetRequiredService<T>(), stopping.Token);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
            }
#pragma warning disable CA1031 // Every failure goes to the caller's fallback; none may escape an unobserved task.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogFailed(e, what);
                failed(e);
            }
        });
        lock (running)
        {
            running.Add(task);
        }
        _ = task.ContinueWith(t =>
        {
            lock (running)
            {
                running.Remove(t);
            }
        }, TaskScheduler.Default);
        return true;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await stopping.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // Stopped and disposed with its container already (a host asked to stop twice): nothing runs any more.
            return;
        }
        Task[] left;
        lock (running)
        {
            left = [.. running];
        }
        await Task.WhenAll(left).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => stopping.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "{What} failed; the job queue takes it over")]
    private partial void LogFailed(Exception exception, string what);
}
