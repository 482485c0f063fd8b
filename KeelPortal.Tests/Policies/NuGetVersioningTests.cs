using KeelPortal.Policies;
using NuGet.Versioning;

namespace KeelPortal.Tests.Policies;

/// <summary>
/// Why tags are ordered by <see cref="KeelVersion"/> and not NuGet.Versioning (docs/architecture.md): after Keel's lenient
/// forms are normalised, the package still reads these tags differently from Keel's rule. Should a new version of the
/// package agree on all of them, this test fails and the choice can be made again.
/// </summary>
public sealed class NuGetVersioningTests
{
    [Fact]
    public void A_date_stamped_major_version_is_a_version_for_keel_and_not_for_nuget()
    {
        Assert.True(KeelVersion.TryParse("20231201123045.0.0", out _));
        Assert.False(SemanticVersion.TryParse("20231201123045.0.0", out _));
    }

    [Fact]
    public void Pre_release_labels_are_ordered_in_ascii_order_by_semver_and_ignoring_case_by_nuget()
    {
        Assert.True(KeelVersion.TryParse("1.0.0-Beta", out var upper));
        Assert.True(KeelVersion.TryParse("1.0.0-alpha", out var lower));
        Assert.True(upper.CompareTo(lower) < 0);
        Assert.True(VersionComparer.VersionRelease.Compare(SemanticVersion.Parse("1.0.0-Beta"), SemanticVersion.Parse("1.0.0-alpha")) > 0);
    }

    [Fact]
    public void A_numeric_pre_release_identifier_with_a_leading_zero_is_read_by_keel_and_refused_by_nuget()
    {
        Assert.True(KeelVersion.TryParse("1.0.0-01", out _));
        Assert.False(SemanticVersion.TryParse("1.0.0-01", out _));
    }
}
