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
