using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace KeelPortal.Health;

public sealed class HealthOptions
{
    public const string Section = "Health";

    /// <summary>
    /// How long a stopping replica keeps serving with <c>/readyz</c> answering 503 before it closes its connections, so
    /// the load balancer sends new sessions elsewhere first. 0 (the default) stops at once; the chart sets it with
    /// several replicas.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00", ErrorMessage = "Health:DrainDelay must be between 00:00:00 and 00:05:00.")]
    public TimeSpan DrainDelay { get; set; }
}

/// <summary>
/// Runs before the web server stops (a lifecycle hook): marks the replica as draining, which fails its readiness, and
/// waits <see cref="HealthOptions.DrainDelay"/> while open consoles and requests carry on.
/// </summary>
internal sealed partial class Drain(IOptions<HealthOptions> options, TimeProvider time, ILogger<Drain> logger) : IHostedLifecycleService, IHealthCheck
{
    private volatile bool draining;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var delay = options.Value.DrainDelay;
        if (delay <= TimeSpan.Zero)
        {
            return;
        }
        draining = true;
        LogDraining(delay.TotalSeconds);
        try
        {
            await Task.Delay(delay, time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout ran out first.
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(draining ? HealthCheckResult.Unhealthy("this replica is shutting down") : HealthCheckResult.Healthy());

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: not ready any more, serving open sessions for {Seconds} s")]
    private partial void LogDraining(double seconds);
}
