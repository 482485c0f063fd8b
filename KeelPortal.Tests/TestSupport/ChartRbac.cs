using System.Collections.Concurrent;
using KeelPortal.Tests.TestSupport.Kube;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// The RBAC rules of the portal's own chart (<c>deploy/chart/keelportal</c>), rendered by the real <c>helm template</c>
/// with the given <c>--set</c> values, read once per value set.
/// </summary>
public static class ChartRbac
{
    public const string PortalToken = "keelportal-service-account-token";

    private static readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<RbacRule>>>> Rendered = new(StringComparer.Ordinal);

    public static string Chart => Path.Combine(RepoPaths.Root, "deploy", "chart", "keelportal");

    public static Task<IReadOnlyList<RbacRule>> RulesAsync(params string[] sets) =>
        Rendered.GetOrAdd(string.Join('\n', sets), _ => new(() => RenderAsync(sets))).Value;

    public static async Task<KubeRbac> ForPortalAsync(params string[] sets) => new(PortalToken, await RulesAsync(sets));

    /// <summary>The image every rendering names (the chart requires one: the project publishes none).</summary>
    public const string Image = "registry.example.com/team/keelportal";

    public static async Task<string> TemplateAsync(params string[] sets)
    {
        var args = new List<string> { "template", "kp", Chart, "--namespace", "keel", "--set", $"image.repository={Image}" };
        foreach (var set in sets)
        {
            args.AddRange(["--set", set]);
        }
        var (code, output, error) = await HelmTool.RunRawAsync("/dev/null", null, [.. args]);
        return code == 0 ? output : throw new InvalidOperationException($"helm template failed: {error}");
    }

    private static async Task<IReadOnlyList<RbacRule>> RenderAsync(string[] sets) => KubeRbac.FromManifests(await TemplateAsync(sets));
}
