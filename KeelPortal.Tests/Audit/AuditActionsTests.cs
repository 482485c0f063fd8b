using KeelPortal.Audit;

namespace KeelPortal.Tests.Audit;

/// <summary>The audit trail's vocabulary is one list: every action the code can record is in it, once, well-formed.</summary>
public sealed class AuditActionsTests
{
    [Fact]
    public void Every_action_is_listed_once_and_named_as_the_trail_shows_it()
    {
        var names = AuditActions.All.Select(a => a.Name).ToList();

        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.All(names, n => Assert.Matches("^[a-z]+([.-][a-z]+)*$", n));
        Assert.Contains("apply.succeeded", names);
        Assert.Contains("work.dead-lettered", names);
        Assert.True(names.Count >= 60, $"{names.Count} actions");
    }
}
