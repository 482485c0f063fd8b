using KeelPortal.Policies;

namespace KeelPortal.Tests.Policies;

/// <summary>Every policy case from Keel's own tests, read from the vectors file, must hold here.</summary>
public sealed class KeelPolicyVectorTests
{
    public static TheoryData<VectorCase> Semver => PolicyVectors.Cases("semver_shouldUpdate");
    public static TheoryData<VectorCase> Force => PolicyVectors.Cases("force_shouldUpdate");
    public static TheoryData<VectorCase> ForceOrder => PolicyVectors.Cases("force_filter");
    public static TheoryData<VectorCase> Glob => PolicyVectors.Cases("glob_shouldUpdate");
    public static TheoryData<VectorCase> Poll => PolicyVectors.Cases("poll_tag_selection");
    public static TheoryData<VectorCase> Platforms => PolicyVectors.Cases("poll_platform_selection");
    public static TheoryData<VectorCase> Webhook => PolicyVectors.Cases("provider_webhook_vectors");

    [Theory, MemberData(nameof(Semver))]
    public void Semver_policies_decide_like_keel(VectorCase c)
    {
        var policy = Parse(c.Str("policy"), matchPreRelease: c.Bool("mpr"));
        var verdict = policy.Evaluate(c.Str("current"), c.Str("new"));
        Assert.Equal(c.Bool("want"), verdict.Eligible);
        Assert.Equal(c.Bool("err"), verdict.Kind is VerdictKind.NotAVersion or VerdictKind.CurrentNotAVersion);
    }

    [Theory, MemberData(nameof(Force))]
    public void Force_decides_like_keel(VectorCase c)
    {
        var policy = Parse("force", matchTag: c.Bool("matchTag"));
        Assert.Equal(c.Bool("want"), policy.Evaluate(c.Str("current"), c.Str("new")).Eligible);
    }

    [Theory, MemberData(nameof(ForceOrder))]
    public void Force_ranks_versions_descending_then_other_tags_in_registry_order(VectorCase c)
    {
        var ranked = TagChooser.Rank(Parse("force"), "", c.Strings("tags"));
        Assert.Equal(c.Strings("want"), ranked.Select(v => v.Tag));
    }

    [Theory, MemberData(nameof(Glob))]
    public void Glob_decides_like_keel(VectorCase c)
    {
        var policy = Parse("glob:" + c.Str("pattern"));
        Assert.Equal(c.Bool("want"), policy.Evaluate(c.Str("current"), c.Str("new")).Eligible);
    }

    [Theory, MemberData(nameof(Poll))]
    public void Polling_chooses_the_tag_keel_chooses(VectorCase c)
    {
        var policy = Parse(c.Str("policy"), c.Bool("matchTag"), c.Bool("mpr", fallback: true));
        var choice = TagChooser.Choose(policy, c.Str("current"), c.Strings("tags"));
        Assert.Equal(c.OptionalStr("expected"), choice.Chosen);
    }

    [Theory, MemberData(nameof(Platforms))]
    public async Task Polling_skips_tags_that_do_not_cover_the_workload_platforms(VectorCase c)
    {
        var image = c.Str("image");
        var current = image[(image.LastIndexOf(':') + 1)..];
        var calls = 0;
        var supported = c.Json["candidatePlatforms"]?.AsObject();
        ValueTask<CandidatePlatforms> Lookup(string tag, CancellationToken _)
        {
            calls++;
            var node = supported?[tag];
            return ValueTask.FromResult(node switch
            {
                null => CandidatePlatforms.Failed("no manifest for " + tag),
                System.Text.Json.Nodes.JsonArray list => new CandidatePlatforms(list.Select(p => Platform.Parse(p!.GetValue<string>())).ToList()),
                _ => CandidatePlatforms.Failed(node.GetValue<string>()),
            });
        }

        var choice = await TagChooser.ChooseAsync(
            Parse(c.Str("policy")), current, c.Strings("tags"), WorkloadPlatformsOf(c), Lookup);

        Assert.Equal(c.OptionalStr("expected"), choice.Chosen);
        if (c.Has("registryPlatformCalls"))
        {
            Assert.Equal(c.Json["registryPlatformCalls"]!.GetValue<int>(), calls);
        }
    }

    [Theory, MemberData(nameof(Webhook))]
    public void A_webhook_tag_is_an_update_exactly_when_keel_says(VectorCase c)
    {
        var image = c.Str("containerImage");
        var lastSlash = image.LastIndexOf('/');
        var colon = image.IndexOf(':', lastSlash + 1);
        var current = colon < 0 ? "latest" : image[(colon + 1)..];
        var policy = Parse(c.Str("policy"), c.Bool("matchTag"), c.Bool("mpr", fallback: true));
        Assert.Equal(c.Bool("update"), policy.Evaluate(current, c.Str("eventTag")).Eligible);
    }

    private static WorkloadPlatforms WorkloadPlatformsOf(VectorCase c)
    {
        if (c.OptionalStr("workloadPlatforms") is { } unresolved)
        {
            return WorkloadPlatforms.Unresolved(unresolved);
        }
        var lists = c.Has("workloads")
            ? c.Json["workloads"]!.AsArray().SelectMany(l => l!.AsArray())
            : c.Json["workloadPlatforms"]!.AsArray();
        return WorkloadPlatforms.Of(lists.Select(p => Platform.Parse(p!.GetValue<string>())));
    }

    private static UpdatePolicy Parse(string policy, bool matchTag = false, bool matchPreRelease = true)
    {
        var result = UpdatePolicy.Parse(policy, matchTag ? "true" : "false", matchPreRelease ? "true" : "false");
        Assert.True(result.IsValid, result.Error);
        return result.Policy;
    }
}
