using KeelPortal.Policies;

namespace KeelPortal.Tests.Policies;

public sealed class UpdatePolicyTests
{
    [Theory]
    [InlineData("all", PolicyKind.All)]
    [InlineData(" Minor ", PolicyKind.Minor)]
    [InlineData("PATCH", PolicyKind.Patch)]
    [InlineData("major", PolicyKind.Major)]
    [InlineData("force", PolicyKind.Force)]
    [InlineData("glob:build-*", PolicyKind.Glob)]
    [InlineData("regexp:^v[0-9]+$", PolicyKind.Regexp)]
    [InlineData("never", PolicyKind.Never)]
    [InlineData("", PolicyKind.Never)]
    [InlineData(null, PolicyKind.Never)]
    public void Parses_every_keel_policy(string? text, PolicyKind kind)
    {
        var result = UpdatePolicy.Parse(text);
        Assert.True(result.IsValid);
        Assert.Equal(kind, result.Policy.Kind);
    }

    [Theory]
    [InlineData("sometimes", "unknown policy 'sometimes'")]
    [InlineData("1", "unknown policy '1'")]
    [InlineData("all,major", "unknown policy 'all,major'")]
    [InlineData("regexp:([a-z", "is not a usable regular expression")]
    [InlineData("regexp:", "has no pattern")]
    [InlineData("glob:", "has no pattern")]
    public void Bad_policies_are_untracked_with_a_reason_not_an_exception(string text, string reason)
    {
        var result = UpdatePolicy.Parse(text);
        Assert.False(result.IsValid);
        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
        Assert.Equal(PolicyKind.Never, result.Policy.Kind);
    }

    [Fact]
    public void Match_flags_default_like_keel_and_bad_booleans_warn()
    {
        var defaults = UpdatePolicy.Parse("minor");
        Assert.False(defaults.Policy.MatchTag);
        Assert.True(defaults.Policy.MatchPreRelease);

        var odd = UpdatePolicy.Parse("minor", matchTag: "yes", matchPreRelease: "False");
        Assert.False(odd.Policy.MatchTag);
        Assert.False(odd.Policy.MatchPreRelease);
        Assert.Equal(["keel.sh/matchTag 'yes' is neither true nor false; using false"], odd.Warnings);
    }

    [Theory]
    [InlineData("minor", "1.25.0", "1.26.0-alpine", "1.26.0-alpine skipped: pre-release 'alpine' differs from current ''")]
    [InlineData("force", "8.1.0", "8.0.0", "8.0.0 skipped: older than 8.1.0")]
    [InlineData("minor", "1.4.5", "2.0.0", "2.0.0 skipped: major version differs from current 1.4.5 (policy minor)")]
    [InlineData("patch", "1.4.5", "1.5.0", "1.5.0 skipped: major.minor differs from current 1.4.5 (policy patch)")]
    [InlineData("all", "1.4.5", "3050", "3050 skipped: not a version (a version needs at least major.minor)")]
    [InlineData("major", "stable", "1.2.0", "1.2.0 skipped: the current tag stable is not a version, so policy major cannot compare")]
    [InlineData("minor", "1.4.5", "1.5.0", "1.5.0 is eligible: newer than 1.4.5 (policy minor)")]
    [InlineData("force", "latest", "main", "main skipped: policy force with matchTag follows only tag latest")]
    public void Every_verdict_explains_itself(string policy, string current, string candidate, string reason)
    {
        var parsed = UpdatePolicy.Parse(policy, matchTag: policy == "force" && current == "latest" ? "true" : null).Policy;
        Assert.Equal(reason, parsed.Evaluate(current, candidate).Reason);
    }

    [Theory]
    [InlineData("regexp:^build-(?P<compare>[0-9]+)$", "build-10", "build-20", true)]
    [InlineData("regexp:^build-(?P<compare>[0-9]+)$", "build-20", "build-10", false)]
    [InlineData("regexp:^build-(?P<compare>[0-9]+)$", "build-20", "build-20", false)]
    [InlineData("regexp:^build-.*$", "1.0.0", "build-1", true)]
    [InlineData("regexp:^build-.*$", "build-2", "build-1", false)]
    // Whole numbers compare as numbers (Keel compares text: build-99 would sort after build-100, a downgrade).
    [InlineData(@"regexp:^build-(?P<compare>\d+)$", "build-100", "build-99", false)]
    [InlineData(@"regexp:^build-(?P<compare>\d+)$", "build-100", "build-101", true)]
    [InlineData(@"regexp:^build-(?P<compare>\d+)$", "build-100", "build-1000", true)]
    [InlineData(@"regexp:^build-(?P<compare>\d+)$", "build-9", "build-10", true)]
    // Dates and zero-padded numbers order the same as text and as numbers; mixed values stay text.
    [InlineData(@"regexp:^(?P<compare>\d{8})-[a-f0-9]+$", "20261130-abc", "20261207-def", true)]
    [InlineData(@"regexp:^(?P<compare>\d{8})-[a-f0-9]+$", "20261207-def", "20261130-abc", false)]
    [InlineData(@"regexp:^v(?P<compare>.+)$", "v9a", "v10a", false)]
    public void Regexp_never_reapplies_the_current_or_an_older_tag(string policy, string current, string candidate, bool eligible)
    {
        var parsed = UpdatePolicy.Parse(policy);
        Assert.True(parsed.IsValid, parsed.Error);
        Assert.Equal(eligible, parsed.Policy.Evaluate(current, candidate).Eligible);
    }

    [Fact]
    public void A_numeric_compare_group_chooses_the_highest_build_and_ranks_the_older_one_as_older()
    {
        var policy = UpdatePolicy.Parse(@"regexp:^build-(?P<compare>\d+)$").Policy;
        var choice = TagChooser.Choose(policy, "build-100", ["build-99", "build-101", "build-1000"]);

        Assert.Equal("build-1000", choice.Chosen);
        var ranked = TagChooser.Rank(policy, "build-100", ["build-99", "build-101", "build-1000"]);
        Assert.Equal(["build-1000", "build-101", "build-99"], ranked.Select(v => v.Tag));
        Assert.Equal([true, true, false], ranked.Select(v => v.Eligible));
        Assert.Equal("build-99 skipped: older than build-100", ranked[2].Reason);
    }

    [Fact]
    public void A_catastrophic_regexp_times_out_into_a_no_match_verdict()
    {
        var policy = UpdatePolicy.Parse("regexp:^(a+)+$").Policy;
        var verdict = policy.Evaluate("b", new string('a', 40) + "!");
        Assert.Equal(VerdictKind.NoMatch, verdict.Kind);
    }

    [Theory]
    [InlineData("build-*", "build-1", true)]
    [InlineData("build-*", "xbuild-1", false)]
    [InlineData("*-alpine", "1.2-alpine", true)]
    [InlineData("a*b*c", "aXbYc", true)]
    [InlineData("a*b*c", "acb", false)]
    [InlineData("a*a", "a", false)]
    [InlineData("*", "", true)]
    public void Glob_matches_the_whole_tag_with_star_as_the_only_wildcard(string pattern, string tag, bool matches)
    {
        var policy = UpdatePolicy.Parse("glob:" + pattern).Policy;
        Assert.Equal(matches, policy.Evaluate("", tag).Kind != VerdictKind.NoMatch);
    }
}
