using KeelPortal.Policies;

namespace KeelPortal.Tests.Policies;

public sealed class GoRegexTests
{
    [Theory]
    [InlineData(@"^build-.*-(?P<compare>.+)$", @"^build-.*-(?<compare>.+)$")]
    [InlineData(@"(?P<a>x)(?P<b>y)", @"(?<a>x)(?<b>y)")]
    [InlineData(@"\(?P<a>x", @"\(?P<a>x")]
    [InlineData(@"[(?P<]x", @"[(?P<]x")]
    [InlineData(@"^v\d+$", @"^v\d+$")]
    public void Named_groups_in_go_syntax_become_dotnet_syntax(string go, string dotnet) =>
        Assert.Equal(dotnet, GoRegex.ToDotNet(go));
}
