using KeelPortal.Policies;

namespace KeelPortal.Tests.Policies;

public sealed class KeelVersionTests
{
    [Theory]
    [InlineData("1.4.5", 1, 4, 5, "")]
    [InlineData("v1.0.1-metadata", 1, 0, 1, "metadata")]
    [InlineData("1.4", 1, 4, 0, "")]
    [InlineData("11", 11, 0, 0, "")]
    [InlineData("7.9.1-1-ubi8", 7, 9, 1, "1-ubi8")]
    [InlineData("1.2.3-rc.1+build.5", 1, 2, 3, "rc.1")]
    [InlineData("20240303.2-unstable-armhf", 20240303, 2, 0, "unstable-armhf")]
    public void Parses_lenient_semver(string tag, int major, int minor, int patch, string pre)
    {
        Assert.True(KeelVersion.TryParse(tag, out var v));
        Assert.Equal(((ulong)major, (ulong)minor, (ulong)patch, pre), (v.Major, v.Minor, v.Patch, v.PreRelease));
        Assert.Equal(tag, v.Tag);
    }

    [Theory]
    [InlineData("1.2.3.4")]
    [InlineData("latest")]
    [InlineData("")]
    [InlineData("v")]
    [InlineData("1.2.")]
    [InlineData("1.2.3-")]
    [InlineData("1.2.3-a..b")]
    [InlineData("1.2.3+")]
    [InlineData("V1.2.3")]
    [InlineData("1.2.3 ")]
    [InlineData("99999999999999999999999.0")]
    public void Rejects_what_is_not_a_version(string tag) => Assert.False(KeelVersion.TryParse(tag, out _));

    [Theory]
    [InlineData("1.0.0-rc.10", "1.0.0-rc.9")]
    [InlineData("1.0.0", "1.0.0-rc.1")]
    [InlineData("1.0.0-alpha.1", "1.0.0-alpha")]
    [InlineData("1.0.0-alpha.beta", "1.0.0-alpha.1")]
    [InlineData("1.0.0-beta", "1.0.0-alpha.beta")]
    [InlineData("2.0", "1.9.9")]
    [InlineData("1.10.0", "1.9.0")]
    public void Orders_by_semver_precedence(string higher, string lower)
    {
        var (h, l) = (Parse(higher), Parse(lower));
        Assert.True(h.CompareTo(l) > 0);
        Assert.True(l.CompareTo(h) < 0);
    }

    [Theory]
    [InlineData("1.4", "1.4.0")]
    [InlineData("v1.2.3", "1.2.3")]
    [InlineData("1.2.3+a", "1.2.3+b")]
    public void Equal_precedence_ignores_spelling_and_build_metadata(string a, string b)
    {
        Assert.Equal(0, Parse(a).CompareTo(Parse(b)));
    }

    private static KeelVersion Parse(string tag)
    {
        Assert.True(KeelVersion.TryParse(tag, out var version), tag);
        return version;
    }
}
