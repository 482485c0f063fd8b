using KeelPortal.Policies;

namespace KeelPortal.Tests.Policies;

public sealed class TagChooserTests
{
    private static readonly UpdatePolicy Minor = UpdatePolicy.Parse("minor").Policy;

    [Fact]
    public void The_choice_says_why_each_tag_was_or_was_not_picked()
    {
        var choice = TagChooser.Choose(Minor, "1.25.0", ["1.24.0", "1.26.0-alpine", "1.26.0", "2.0.0", "latest"]);

        Assert.Equal("1.26.0", choice.Chosen);
        Assert.Equal(["2.0.0", "1.26.0", "1.26.0-alpine", "1.24.0", "latest"], choice.Verdicts.Select(v => v.Tag));
        Assert.Equal(
            [VerdictKind.OtherMajor, VerdictKind.Eligible, VerdictKind.PreReleaseDiffers, VerdictKind.Older, VerdictKind.NotAVersion],
            choice.Verdicts.Select(v => v.Kind));
    }

    [Fact]
    public void Nothing_to_do_when_the_best_tag_is_the_current_one()
    {
        var choice = TagChooser.Choose(Minor, "1.26.0", ["1.25.0", "1.26.0"]);
        Assert.Null(choice.Chosen);
        Assert.Equal("no tag may replace 1.26.0", choice.Summary);
    }

    [Fact]
    public void Nothing_to_do_when_force_finds_the_current_tag_best()
    {
        var choice = TagChooser.Choose(UpdatePolicy.Parse("force").Policy, "8.3.1", ["8.0.0", "8.3.1"]);
        Assert.Null(choice.Chosen);
        Assert.Equal("8.3.1 is already the best tag", choice.Summary);
    }

    [Fact]
    public void Duplicate_tags_are_ranked_once()
    {
        var ranked = TagChooser.Rank(Minor, "1.0.0", ["1.1.0", "1.1.0", "1.0.1"]);
        Assert.Equal(["1.1.0", "1.0.1"], ranked.Select(v => v.Tag));
    }

    [Fact]
    public async Task Platform_lookups_stop_at_the_first_tag_that_fits_and_name_what_is_missing()
    {
        var asked = new List<string>();
        var images = new Dictionary<string, string[]>
        {
            ["1.3.0"] = ["linux/amd64"],
            ["1.2.0"] = ["linux/amd64", "linux/arm64/v8"],
            ["1.1.0"] = ["linux/amd64", "linux/arm64"],
        };
        ValueTask<CandidatePlatforms> Lookup(string tag, CancellationToken _)
        {
            asked.Add(tag);
            return ValueTask.FromResult(new CandidatePlatforms(images[tag].Select(Platform.Parse).ToList()));
        }

        var choice = await TagChooser.ChooseAsync(Minor, "1.0.0", ["1.1.0", "1.2.0", "1.3.0"],
            WorkloadPlatforms.Of(Platform.Parse("linux/amd64"), Platform.Parse("linux/arm64")), Lookup);

        Assert.Equal("1.2.0", choice.Chosen);
        Assert.Equal(["1.3.0", "1.2.0"], asked);
        var skipped = choice.Verdicts.Single(v => v.Tag == "1.3.0");
        Assert.Equal(VerdictKind.WrongPlatform, skipped.Kind);
        Assert.Equal("1.3.0 skipped: no image for linux/arm64, where the workload runs", skipped.Reason);
    }

    [Theory]
    [InlineData("linux/arm64/v8", "linux/arm64", true)]
    [InlineData("linux/arm64", "linux/arm64/v8", true)]
    [InlineData("linux/arm/v6", "linux/arm/v7", false)]
    [InlineData("linux/arm", "linux/arm/v7", true)]
    [InlineData("linux/amd64", "linux/arm64", false)]
    [InlineData("windows/amd64", "linux/amd64", false)]
    public void An_image_platform_runs_on_a_node_when_os_arch_and_variant_agree(string image, string node, bool runs) =>
        Assert.Equal(runs, Platform.Parse(image).Runs(Platform.Parse(node)));

    [Theory]
    [InlineData("linux")]
    [InlineData("linux//v7")]
    [InlineData("a/b/c/d")]
    public void Malformed_platforms_do_not_parse(string text) => Assert.False(Platform.TryParse(text, out _));
}
