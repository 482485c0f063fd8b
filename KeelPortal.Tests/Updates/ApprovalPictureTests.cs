using KeelPortal.Updates;

namespace KeelPortal.Tests.Updates;

public sealed class ApprovalPictureTests
{
    [Theory]
    [InlineData("1.2.3", "2.0.0", VersionJump.Major)]
    [InlineData("v1.2.3", "v1.3.0", VersionJump.Minor)]
    [InlineData("1.2.3", "1.2.4", VersionJump.Patch)]
    [InlineData("1.2.3-rc.1", "1.2.3", VersionJump.PreRelease)]
    [InlineData("latest", "latest", VersionJump.SameTag)]
    [InlineData("main-abc", "main-def", VersionJump.Other)]
    public void The_size_of_a_jump_is_named(string from, string to, VersionJump jump) => Assert.Equal(jump, ApprovalPicture.JumpOf(from, to));

    [Theory]
    [InlineData("https://github.com/acme/shop", "abc123", "def456", "https://github.com/acme/shop/compare/abc123...def456")]
    [InlineData("https://github.com/acme/shop.git", "abc123", "def456", "https://github.com/acme/shop/compare/abc123...def456")]
    [InlineData("https://gitlab.com/acme/shop", "abc123", "def456", "https://gitlab.com/acme/shop/-/compare/abc123...def456")]
    [InlineData("https://bitbucket.org/acme/shop", "abc123", "def456", null)]
    [InlineData("https://github.com/acme/shop", "abc123", "abc123", null)]
    [InlineData("https://github.com/acme/shop", "abc123", "x/../../evil", null)]
    [InlineData("https://github.com/acme/shop", null, "def456", null)]
    public void Compare_links_are_offered_for_github_and_gitlab_between_two_clean_revisions(string source, string? from, string? to, string? expected) =>
        Assert.Equal(expected, ApprovalPicture.CompareLink(KeelPortal.Registries.SafeLink.Of(source), from, to));

    [Theory]
    [InlineData("javascript:alert(1)", null)]
    [InlineData("file:///etc/passwd", null)]
    [InlineData("not a url", null)]
    [InlineData("https://example.com/notes/", "https://example.com/notes")]
    public void Only_http_links_from_untrusted_labels_become_links(string text, string? expected) => Assert.Equal(expected, KeelPortal.Registries.SafeLink.Of(text));

    [Fact]
    public void A_force_update_names_the_digests() =>
        Assert.Equal("latest (sha256:ab12cd34ef56…)", ApprovalPicture.WithDigest("latest", "sha256:ab12cd34ef5678901234567890"));
}
