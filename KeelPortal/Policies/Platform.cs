using System.Diagnostics.CodeAnalysis;

namespace KeelPortal.Policies;

/// <summary>An image platform such as <c>linux/amd64</c> or <c>linux/arm/v7</c>.</summary>
public sealed record Platform(string Os, string Architecture, string Variant = "")
{
    public static bool TryParse(string? text, [NotNullWhen(true)] out Platform? platform)
    {
        platform = null;
        var parts = (text ?? "").Trim().ToLowerInvariant().Split('/');
        if (parts.Length is < 2 or > 3 || parts.Any(string.IsNullOrEmpty))
        {
            return false;
        }
        platform = new Platform(parts[0], parts[1], parts.Length == 3 ? parts[2] : "");
        return true;
    }

    public static Platform Parse(string text) =>
        TryParse(text, out var p) ? p : throw new FormatException($"'{text}' is not a platform such as linux/amd64.");

    /// <summary>
    /// Whether an image built for this platform runs on a node of <paramref name="node"/>. A node that names no
    /// variant takes any; otherwise the variants must agree, with the runtimes' defaults (arm = v7, arm64 = v8).
    /// </summary>
    public bool Runs(Platform node) =>
        Os == node.Os && Architecture == node.Architecture &&
        (node.Variant.Length == 0 || NormalVariant(this) == NormalVariant(node));

    public override string ToString() => Variant.Length == 0 ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";

    private static string NormalVariant(Platform p) => p.Variant.Length > 0 ? p.Variant : p.Architecture switch
    {
        "arm64" => "v8",
        "arm" => "v7",
        _ => "",
    };
}

/// <summary>The platforms a workload's pods run on, or why they are not known.</summary>
public sealed record WorkloadPlatforms(IReadOnlyList<Platform> Required, string? UnresolvedReason = null)
{
    /// <summary>No platform constraint: every candidate is acceptable.</summary>
    public static readonly WorkloadPlatforms Any = new([]);

    public bool IsResolved => UnresolvedReason is null;

    public static WorkloadPlatforms Of(params IEnumerable<Platform> platforms) => new(platforms.Distinct().ToList());

    public static WorkloadPlatforms Unresolved(string reason) => new([], reason);
}

/// <summary>What the registry says a candidate tag supports, or why it could not be read.</summary>
public sealed record CandidatePlatforms(IReadOnlyList<Platform> Supported, string? Error = null)
{
    public static CandidatePlatforms Failed(string error) => new([], error);

    /// <summary>The required platforms this candidate does not cover.</summary>
    public IReadOnlyList<Platform> Missing(WorkloadPlatforms workload) =>
        workload.Required.Where(node => !Supported.Any(image => image.Runs(node))).ToList();
}
