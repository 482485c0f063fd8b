using KeelPortal.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace KeelPortal.Tests.Jobs;

/// <summary>Prompt runs: started at once, cancelled and awaited at shutdown, and a second stop is harmless.</summary>
public sealed class PromptRunnerTests
{
    [Fact]
    public async Task Stopping_cancels_the_runs_waits_for_them_and_refuses_new_ones_and_a_stop_after_disposal_is_harmless()
    {
        await using var services = new ServiceCollection().AddSingleton<string>("work").BuildServiceProvider();
        var runner = new PromptRunner(services.GetRequiredService<IServiceScopeFactory>(), NullLogger<PromptRunner>.Instance);
        var started = new TaskCompletionSource();
        var cancelled = false;
        Assert.True(runner.TryRun<string>("a long run", async (_, ct) =>
        {
            started.SetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                cancelled = true;
                throw;
            }
        }, _ => { }));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await runner.StopAsync(CancellationToken.None);
        var afterStop = runner.TryRun<string>("too late", (_, _) => Task.CompletedTask, _ => { });
        runner.Dispose();
        // A host asked to stop twice stops its services again after its container disposed them.
        await runner.StopAsync(CancellationToken.None);

        Assert.True(cancelled);
        Assert.False(afterStop);
    }
}
