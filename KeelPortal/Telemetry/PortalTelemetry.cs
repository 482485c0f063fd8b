using System.Diagnostics;

namespace KeelPortal.Telemetry;

/// <summary>
/// The portal's one <see cref="ActivitySource"/> and the names its meter and source share; the instruments are
/// <see cref="PortalMetrics"/>, on the meter the host's <see cref="System.Diagnostics.Metrics.IMeterFactory"/> makes.
/// </summary>
public static class PortalTelemetry
{
    public const string Name = "KeelPortal";

    public static readonly ActivitySource Source = new(Name);

    /// <summary>Starts a span that continues the trace a stored W3C context names (a new trace when there is none).</summary>
    public static Activity? StartIn(string name, string? traceParent, params (string Key, object? Value)[] tags)
    {
        var parent = ActivityContext.TryParse(traceParent, null, out var context) ? context : default;
        var activity = Source.StartActivity(name, ActivityKind.Internal, parent);
        foreach (var (key, value) in tags)
        {
            activity?.SetTag(key, value);
        }
        return activity;
    }

    /// <summary>Records a span that already happened (a rollout followed from watch events) in the trace it belongs to.</summary>
    public static void Finished(string name, string? traceParent, DateTimeOffset started, DateTimeOffset ended, params (string Key, object? Value)[] tags)
    {
        using var activity = StartIn(name, traceParent, tags);
        activity?.SetStartTime(started.UtcDateTime);
        activity?.SetEndTime(ended.UtcDateTime);
    }
}
