namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// The real clock moved to another moment: time passes as it really does (timers fire, waits end), and a test jumps
/// it forward (a weekend in an instant). For a whole running portal, where a frozen fake clock would stop its loops.
/// </summary>
public sealed class ShiftedClock(DateTimeOffset start) : TimeProvider
{
    private long offsetTicks = (start - System.GetUtcNow()).Ticks;

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref offsetTicks));

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public void JumpTo(DateTimeOffset moment) => Interlocked.Exchange(ref offsetTicks, (moment - System.GetUtcNow()).Ticks);
}
