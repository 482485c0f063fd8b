using Bunit;
using KeelPortal.Components.Shared;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace KeelPortal.Tests.Components;

public sealed class RelativeTimeTests : BunitContext
{
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));

    public RelativeTimeTests() => Services.AddSingleton<TimeProvider>(clock);

    [Theory]
    [InlineData(3 * 60, "in 3 h")]
    [InlineData(-5, "5 min ago")]
    [InlineData(2 * 24 * 60 + 5, "in 2 d")]
    [InlineData(0, "in less than a minute")]
    public void Says_how_far_away_and_keeps_the_exact_time_on_hover(int minutes, string text)
    {
        var at = clock.GetUtcNow().UtcDateTime.AddMinutes(minutes);

        var span = Render<RelativeTime>(p => p.Add(r => r.At, at)).Find("span");

        Assert.Equal(text, span.TextContent);
        Assert.Equal(at.ToString("u", System.Globalization.CultureInfo.InvariantCulture), span.GetAttribute("title"));
    }
}
