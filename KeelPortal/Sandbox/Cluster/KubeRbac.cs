namespace KeelPortal.Sandbox.Cluster;

/// <summary>One RBAC rule as a Role or ClusterRole grants it; <see cref="Namespace"/> null for a ClusterRole's.</summary>
public sealed record RbacRule(string? Namespace, IReadOnlyList<string> ApiGroups, IReadOnlyList<string> Resources, IReadOnlyList<string> Verbs)
{
    public override string ToString() =>
        $"{Namespace ?? "cluster"}: [{string.Join(",", ApiGroups)}] {string.Join(",", Resources)} {string.Join(",", Verbs)}";
}

/// <summary>
/// RBAC as the API server enforces it for one bearer token: a request is allowed only when a rule grants its verb on
/// its resource, cluster-wide or in its namespace; anything else is a 403. Other tokens (and none) are not restricted.
/// </summary>
public sealed class KubeRbac(string token, IReadOnlyList<RbacRule> rules)
{
    public string Token { get; } = token;

    public IReadOnlyList<RbacRule> Rules { get; } = rules;

    public KubeRbac Without(RbacRule rule) => new(Token, [.. Rules.Where(r => !ReferenceEquals(r, rule))]);

    public bool Allows(string verb, string group, string resource, string? ns) => Rules.Any(r =>
        (r.Namespace is null || r.Namespace == ns)
        && (r.ApiGroups.Contains("*") || r.ApiGroups.Contains(group))
        && (r.Resources.Contains("*") || r.Resources.Contains(resource))
        && (r.Verbs.Contains("*") || r.Verbs.Contains(verb)));
}
