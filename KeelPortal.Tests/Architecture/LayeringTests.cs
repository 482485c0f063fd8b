using System.Reflection;
using Microsoft.AspNetCore.Components;
using NetArchTest.Rules;

namespace KeelPortal.Tests.Architecture;

/// <summary>
/// The slices depend one way (docs/architecture.md): a shared base below, the domain above it, the flows above that, and
/// pages and endpoints on top. Within a floor the order below is the only direction allowed. Pages (Blazor components),
/// endpoints (<c>*Endpoints</c>, <c>*Api</c>) and each slice's composition (<c>*Setup</c>) sit on top wherever they
/// live, so a feature folder keeps its pages next to its code.
/// </summary>
public sealed class LayeringTests
{
    /// <summary>Lowest first. A folder may use only the folders before it.</summary>
    private static readonly string[] Order =
    [
        // base
        "Data", "Migrations", "Audit", "Telemetry", "Jobs",
        // domain
        "Policies", "Registries", "Workloads", "Access", "Approvals",
        // flows
        "Delivery", "Helm", "Updates", "Triggers", "Notifications", "Chat",
        // pages and endpoints
        "Health", "Components", "Overview",
        // the sandbox: an in-process cluster and registry around the whole portal (left out with -p:Sandbox=false)
        "Sandbox",
    ];

    private static readonly Assembly Portal = typeof(KeelPortal.Data.PortalDbContext).Assembly;

    public static TheoryData<string> Folders() => [.. Order];

    [Theory]
    [MemberData(nameof(Folders))]
    public void A_slice_uses_only_the_slices_below_it(string folder)
    {
        var above = Order.SkipWhile(f => f != folder).Skip(1).Select(f => $"KeelPortal.{f}").ToArray();
        if (above.Length == 0)
        {
            return;
        }
        var result = Types.InAssembly(Portal).That().ResideInNamespaceMatching($@"^KeelPortal\.{folder}(\..*)?$")
            .ShouldNot().HaveDependencyOnAny(above).GetResult();

        var offending = (result.FailingTypeNames ?? []).Where(name => !OnTop(name)).ToList();
        Assert.True(offending.Count == 0,
            $"{folder} may use only {string.Join(", ", Order.TakeWhile(f => f != folder))}; these of its types reach up: {string.Join(", ", offending)}");
    }

    [Fact]
    public void Every_feature_folder_has_its_place_in_the_order()
    {
        var folders = Portal.GetTypes().Select(t => t.Namespace).OfType<string>().Where(n => n.StartsWith("KeelPortal.", StringComparison.Ordinal))
            .Select(n => n.Split('.')[1]).Distinct().ToList();
        Assert.All(folders, f => Assert.Contains(f, Order));
    }

    [Fact]
    public void The_rule_catches_a_reference_against_it()
    {
        // The apply reads the change windows (Updates uses Delivery, below it): the reverse would be reported.
        var result = Types.InAssembly(Portal).That().ResideInNamespaceMatching(@"^KeelPortal\.Updates$")
            .ShouldNot().HaveDependencyOnAny("KeelPortal.Delivery").GetResult();
        Assert.Contains("KeelPortal.Updates.ApplyHandler", result.FailingTypeNames ?? []);
    }

    /// <summary>A page, an endpoint or a slice's composition (or a type nested in one: a component's lambdas).</summary>
    private static bool OnTop(string typeName)
    {
        var type = Portal.GetType(typeName.Replace('/', '+'), throwOnError: true)!;
        while (type.DeclaringType is { } outer)
        {
            type = outer;
        }
        return typeof(ComponentBase).IsAssignableFrom(type)
            || type.Name.EndsWith("Endpoints", StringComparison.Ordinal) || type.Name.EndsWith("Api", StringComparison.Ordinal)
            || type.Name.EndsWith("Setup", StringComparison.Ordinal) || type.Name == "Program";
    }
}
