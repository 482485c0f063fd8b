using CsCheck;
using KeelPortal.Policies;

namespace KeelPortal.Tests.Policies;

/// <summary>Invariants of the semver policies over generated tags.</summary>
public sealed class PolicyPropertyTests
{
    private static readonly Gen<string> Tag =
        Gen.Select(Gen.Int[0, 4], Gen.Int[0, 4], Gen.Int[0, 4], Gen.OneOf("", "-rc.1", "-rc.10", "-alpine", "-rc.9"),
                Gen.OneOf("", "v"), Gen.Int[0, 6])
            .Select((major, minor, patch, pre, v, shape) => shape switch
            {
                0 => $"{v}{major}.{minor}{pre}",
                1 => $"{major}",
                2 => "latest",
                _ => $"{v}{major}.{minor}.{patch}{pre}",
            });

    private static readonly Gen<UpdatePolicy> SemverPolicy =
        Gen.Select(Gen.OneOf("all", "major", "minor", "patch"), Gen.Bool)
            .Select((name, mpr) => UpdatePolicy.Parse(name, matchPreRelease: mpr ? "true" : "false").Policy);

    private static readonly Gen<(UpdatePolicy Policy, string Current, string[] Tags)> Scenario =
        Gen.Select(SemverPolicy, Tag.Where(t => t != "latest"), Tag.Array[0, 40]);

    [Fact]
    public void A_semver_policy_never_chooses_a_lower_or_equal_version() =>
        Scenario.Sample(s =>
        {
            var chosen = TagChooser.Choose(s.Policy, s.Current, s.Tags).Chosen;
            return chosen is null || (Version(chosen).CompareTo(Version(s.Current)) > 0);
        });

    [Fact]
    public void Minor_and_patch_never_cross_a_major_or_minor_boundary() =>
        Scenario.Sample(s =>
        {
            if (TagChooser.Choose(s.Policy, s.Current, s.Tags).Chosen is not { } chosen)
            {
                return true;
            }
            var (now, next) = (Version(s.Current), Version(chosen));
            return s.Policy.Kind switch
            {
                PolicyKind.Minor => next.Major == now.Major,
                PolicyKind.Patch => next.Major == now.Major && next.Minor == now.Minor,
                _ => true,
            };
        });

    [Fact]
    public void The_choice_does_not_depend_on_the_order_the_registry_listed_the_tags() =>
        Scenario.SelectMany(s => Gen.Shuffle(s.Tags.ToArray()).Select(shuffled => (s, shuffled)))
            .Sample(x =>
            {
                var original = TagChooser.Choose(x.s.Policy, x.s.Current, x.s.Tags);
                var reordered = TagChooser.Choose(x.s.Policy, x.s.Current, x.shuffled);
                return original.Chosen == reordered.Chosen
                    && original.Verdicts.Select(v => v.Tag).SequenceEqual(reordered.Verdicts.Select(v => v.Tag));
            });

    /// <summary>Build numbers as registries hold them: some of the policy's shape, some not.</summary>
    private static readonly Gen<string> Build =
        Gen.Select(Gen.Int[0, 3000], Gen.Int[0, 9]).Select((n, shape) => shape switch
        {
            0 => "latest",
            1 => $"{n}",
            2 => $"build-{n}-debug",
            _ => $"build-{n}",
        });

    private static int BuildNumber(string tag) => int.Parse(tag.AsSpan(tag.IndexOf('-', StringComparison.Ordinal) + 1), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void A_regexp_policy_with_a_numeric_compare_group_never_chooses_an_older_build() =>
        Gen.Select(Gen.Int[0, 3000], Build.Array[0, 40]).Sample((current, tags) =>
        {
            var policy = UpdatePolicy.Parse(@"regexp:^build-(?P<compare>\d+)$").Policy;
            var chosen = TagChooser.Choose(policy, $"build-{current}", tags).Chosen;
            // The webhook path asks about one tag at a time: the same verdict as the poll's choice.
            return (chosen is null || BuildNumber(chosen) > current)
                && tags.All(t => !policy.Evaluate($"build-{current}", t).Eligible || BuildNumber(t) > current);
        });

    [Fact]
    public void A_regexp_policy_without_a_compare_group_never_chooses_an_older_number() =>
        Gen.Select(Gen.Int[0, 3000], Build.Array[0, 40]).Sample((current, tags) =>
        {
            var chosen = TagChooser.Choose(UpdatePolicy.Parse(@"regexp:^\d+$").Policy, $"{current}", tags).Chosen;
            return chosen is null || int.Parse(chosen, System.Globalization.CultureInfo.InvariantCulture) > current;
        });

    [Fact]
    public void A_glob_policy_never_chooses_a_tag_before_the_current_one_in_its_own_order() =>
        Gen.Select(Build, Build.Array[0, 40]).Sample((current, tags) =>
        {
            var chosen = TagChooser.Choose(UpdatePolicy.Parse("glob:build-*").Policy, current, tags).Chosen;
            return chosen is null || string.CompareOrdinal(chosen, current) > 0;
        });

    [Fact]
    public void A_force_policy_never_chooses_a_lower_version_when_both_are_versions() =>
        Gen.Select(Tag.Where(t => t != "latest"), Tag.Array[0, 40]).Sample((current, tags) =>
        {
            var chosen = TagChooser.Choose(UpdatePolicy.Parse("force").Policy, current, tags).Chosen;
            return chosen is null || !KeelVersion.TryParse(chosen, out var next) || next.CompareTo(Version(current)) > 0;
        });

    [Fact]
    public void Evaluating_any_string_never_throws() =>
        Gen.Select(Gen.String, Gen.String, Gen.OneOf("all", "force", "glob:*a*", "regexp:^(?P<compare>.*)$", "never"))
            .Sample((current, candidate, policy) =>
            {
                _ = UpdatePolicy.Parse(policy).Policy.Evaluate(current, candidate).Reason;
            });

    private static KeelVersion Version(string tag) =>
        KeelVersion.TryParse(tag, out var v) ? v : throw new InvalidOperationException(tag + " is not a version");
}
