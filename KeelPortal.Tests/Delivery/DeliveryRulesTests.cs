using KeelPortal.Delivery;

namespace KeelPortal.Tests.Delivery;

/// <summary>When a window is open, when it opens next (across midnight and clock changes), and how windows and freezes combine.</summary>
public sealed class DeliveryRulesTests
{
    private static DateTime Utc(int year, int month, int day, int hour, int minute = 0) => new(year, month, day, hour, minute, 0, DateTimeKind.Utc);

    private static WindowRule Rule(string days, string hours, string zone = "Europe/Berlin") =>
        WindowRule.Parse(days, hours, zone, out var error) ?? throw new InvalidOperationException(error);

    private static WindowDefinition Window(string name, string days, string hours, DeliveryScope? scope = null, string zone = "Europe/Berlin") =>
        new(name, Rule(days, hours, zone), scope ?? DeliveryScope.Global, DeliverySchedule.FromConsole, "root", null);

    [Theory]
    [InlineData("Mon-Thu", "Mon,Tue,Wed,Thu")]
    [InlineData("mon,wed, FRI", "Mon,Wed,Fri")]
    [InlineData("Fri-Mon", "Mon,Fri,Sat,Sun")]
    [InlineData("daily", "daily")]
    [InlineData("Monday-Sunday", "daily")]
    public void Days_are_read_as_people_write_them(string written, string stored) =>
        Assert.Equal(stored, Rule(written, "09:00-16:00").DaysText);

    [Theory]
    [InlineData("", "09:00-16:00", "Europe/Berlin", "name the days")]
    [InlineData("Mo-Th", "09:00-16:00", "Europe/Berlin", "'Mo-Th' is not a day")]
    [InlineData("Mon", "9-16", "Europe/Berlin", "'9-16' are not hours")]
    [InlineData("Mon", "25:00-26:00", "Europe/Berlin", "are not hours")]
    [InlineData("Mon", "09:00-09:00", "Europe/Berlin", "opens and closes at the same time")]
    [InlineData("Mon", "09:00-16:00", "Mars/Olympus", "'Mars/Olympus' is not a time zone")]
    [InlineData("Mon", "09:00-16:00", "", "is not a time zone")]
    public void Bad_windows_say_what_is_wrong(string days, string hours, string zone, string expected)
    {
        Assert.Null(WindowRule.Parse(days, hours, zone, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_window_that_cannot_be_read_holds_back_the_updates_it_covers_even_beside_an_open_one()
    {
        var now = Utc(2026, 12, 2, 10); // Wednesday 11:00 in Berlin.
        var open = Window("office-hours", "daily", "00:00-24:00");
        var unreadable = WindowDefinition.Unreadable("night", DeliveryScope.Global, DeliverySchedule.FromConsole, "root", null, "'Mars/Olympus' is not a time zone this machine knows");

        var verdict = DeliveryRules.When(now, "deployment/shop/web", [open, unreadable], []);

        Assert.True(DeliveryRules.When(now, "deployment/shop/web", [open], []).Now);
        Assert.False(verdict.Now);
        Assert.Equal(now + DeliveryRules.UnreadableWindowRecheck, verdict.AtUtc);
        Assert.Contains("the change window night cannot be read", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_window_is_open_in_its_own_time_zone_and_says_when_it_opens_next()
    {
        var office = Rule("Mon-Thu", "09:00-16:00");
        // Friday 4 December 2026, 17:00 in Berlin (UTC+1): closed until Monday 09:00 Berlin, 08:00 UTC.
        var friday = Utc(2026, 12, 4, 16);
        Assert.False(office.IsOpen(friday));
        Assert.Equal((Utc(2026, 12, 7, 8), Utc(2026, 12, 7, 15)), office.OpeningAtOrAfter(friday));
        Assert.True(office.IsOpen(Utc(2026, 12, 7, 8)));
        Assert.True(office.IsOpen(Utc(2026, 12, 10, 14, 59)));
        Assert.False(office.IsOpen(Utc(2026, 12, 10, 15)));
        // In summer Berlin is UTC+2.
        Assert.Equal(Utc(2026, 7, 6, 7), office.OpeningAtOrAfter(Utc(2026, 7, 3, 12)).OpensUtc);
    }

    [Fact]
    public void A_window_past_midnight_belongs_to_the_day_it_opens()
    {
        var night = Rule("Sat", "22:00-02:00", "UTC");
        Assert.True(night.IsOpen(Utc(2026, 12, 5, 23)));
        Assert.True(night.IsOpen(Utc(2026, 12, 6, 1, 59)));
        Assert.False(night.IsOpen(Utc(2026, 12, 6, 2)));
        Assert.False(night.IsOpen(Utc(2026, 12, 6, 23)));
        Assert.Equal(Utc(2026, 12, 12, 22), night.OpeningAtOrAfter(Utc(2026, 12, 6, 2)).OpensUtc);
        var allDay = Rule("Sun", "00:00-24:00", "UTC");
        Assert.Equal((Utc(2026, 12, 6, 0), Utc(2026, 12, 7, 0)), allDay.OpeningAtOrAfter(Utc(2026, 12, 5, 12)));
    }

    [Fact]
    public void An_opening_a_clock_change_skips_opens_right_after_the_gap()
    {
        // Berlin skips 02:00-03:00 on Sunday 29 March 2026: a 02:30 opening is 03:00 local, 01:00 UTC.
        var early = Rule("Sun", "02:30-05:00");
        Assert.Equal((Utc(2026, 3, 29, 1), Utc(2026, 3, 29, 3)), early.OpeningAtOrAfter(Utc(2026, 3, 28, 12)));
    }

    [Fact]
    public void A_workloads_named_windows_come_first_then_its_namespaces_then_the_global_ones()
    {
        IReadOnlyList<WindowDefinition> all =
        [
            Window("office-hours", "Mon-Thu", "09:00-16:00"),
            Window("shop-nights", "daily", "20:00-23:00", new DeliveryScope(DeliveryScopeKind.Namespace, "shop")),
            Window("weekend", "Sat-Sun", "10:00-12:00", DeliveryScope.Named),
        ];
        Assert.Equal(["weekend"], DeliveryRules.WindowsFor("deployment/shop/web", ["weekend", "unknown"], all).Select(w => w.Name));
        Assert.Equal(["shop-nights"], DeliveryRules.WindowsFor("deployment/shop/web", ["unknown"], all).Select(w => w.Name));
        Assert.Equal(["office-hours"], DeliveryRules.WindowsFor("deployment/billing/api", [], all).Select(w => w.Name));
        Assert.Empty(DeliveryRules.WindowsFor("deployment/billing/api", [], [all[2]]));
    }

    [Fact]
    public void A_freeze_holds_an_update_until_it_ends_and_then_the_window_decides()
    {
        var friday = Utc(2026, 12, 4, 16);
        IReadOnlyList<WindowDefinition> office = [Window("office-hours", "Mon-Thu", "09:00-16:00")];
        var yearEnd = new FreezeDefinition(1, "year-end", Utc(2026, 12, 1, 0), Utc(2026, 12, 8, 20), DeliveryScope.Global, DeliverySchedule.FromConsole, "root");
        var otherNamespace = new FreezeDefinition(2, "billing only", Utc(2026, 12, 1, 0), Utc(2027, 1, 1, 0),
            new DeliveryScope(DeliveryScopeKind.Namespace, "billing"), DeliverySchedule.FromConsole, "root");

        var outside = DeliveryRules.When(friday, "deployment/shop/web", office, [otherNamespace]);
        Assert.Equal((false, Utc(2026, 12, 7, 8)), (outside.Now, outside.AtUtc));
        Assert.Equal("outside the change window office-hours (Mon,Tue,Wed,Thu 09:00-16:00 Europe/Berlin)", outside.Reason);

        // Frozen until Tuesday 21:00 Berlin, after Tuesday's window closed: Wednesday 09:00.
        var frozen = DeliveryRules.When(friday, "deployment/shop/web", office, [yearEnd, otherNamespace]);
        Assert.Equal(Utc(2026, 12, 9, 8), frozen.AtUtc);
        Assert.Equal("frozen until 2026-12-08 20:00Z: year-end", frozen.Reason);

        var free = DeliveryRules.When(Utc(2026, 12, 9, 9), "deployment/shop/web", office, [yearEnd]);
        Assert.True(free.Now);
        Assert.True(DeliveryRules.When(friday, "deployment/shop/web", [], []).Now);
    }

    [Theory]
    [InlineData("global", true, "global")]
    [InlineData("", true, "global")]
    [InlineData("named", true, "named")]
    [InlineData("namespace:shop", true, "namespace:shop")]
    [InlineData("deployment/shop/web", false, "deployment/shop/web")]
    public void Scopes_are_read(string text, bool window, string expected) =>
        Assert.Equal(expected, DeliveryScope.Parse(text, window, out _)!.ToString());

    [Theory]
    [InlineData("namespace:Shop_1", true)]
    [InlineData("deployment/shop/web", true)]
    [InlineData("named", false)]
    [InlineData("everything", false)]
    public void Bad_scopes_are_refused(string text, bool window)
    {
        Assert.Null(DeliveryScope.Parse(text, window, out var error));
        Assert.NotNull(error);
    }
}
