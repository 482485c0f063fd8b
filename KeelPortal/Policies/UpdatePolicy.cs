using System.Text.RegularExpressions;

namespace KeelPortal.Policies;

public enum PolicyKind { Never, All, Major, Minor, Patch, Force, Glob, Regexp }

/// <summary>The outcome of reading a workload's policy settings: always a policy, plus any problems found.</summary>
public sealed record PolicyParseResult(UpdatePolicy Policy, string? Error, IReadOnlyList<string> Warnings)
{
    public bool IsValid => Error is null;
}

/// <summary>A parsed Keel update policy; decides whether a candidate tag may replace the current one.</summary>
public sealed partial class UpdatePolicy
{
    private const string CompareGroup = "compare";

    private readonly Regex? regex;
    private readonly int compareGroup = -1;
    private readonly string[] globParts;

    private UpdatePolicy(PolicyKind kind, string pattern, bool matchTag, bool matchPreRelease, Regex? regex = null)
    {
        Kind = kind;
        Pattern = pattern;
        MatchTag = matchTag;
        MatchPreRelease = matchPreRelease;
        this.regex = regex;
        globParts = Wildcard.Compile(pattern);
        if (regex is not null)
        {
            compareGroup = regex.GroupNumberFromName(CompareGroup);
        }
    }

    public static readonly UpdatePolicy Never = new(PolicyKind.Never, "", false, true);

    public PolicyKind Kind { get; }

    /// <summary>The glob or regular expression of <c>glob:</c> and <c>regexp:</c> policies, as written.</summary>
    public string Pattern { get; }

    public bool MatchTag { get; }
    public bool MatchPreRelease { get; }

    public bool IsTracked => Kind != PolicyKind.Never;

    public bool IsSemver => Kind is PolicyKind.All or PolicyKind.Major or PolicyKind.Minor or PolicyKind.Patch;

    /// <summary>The policy as Keel writes it: <c>minor</c>, <c>glob:build-*</c>, …</summary>
    public string Name => Kind switch
    {
        PolicyKind.Glob => "glob:" + Pattern,
        PolicyKind.Regexp => "regexp:" + Pattern,
        _ => Kind.ToString().ToLowerInvariant(),
    };

    public override string ToString() => Name;

    /// <summary>
    /// Reads <c>keel.sh/policy</c>, <c>keel.sh/matchTag</c> and <c>keel.sh/matchPreRelease</c> values. Empty,
    /// <c>never</c> and unknown policies are not tracked; an unknown one or a bad pattern also carries an error.
    /// </summary>
    public static PolicyParseResult Parse(string? policy, string? matchTag = null, string? matchPreRelease = null)
    {
        var warnings = new List<string>();
        var tagOnly = ReadBool(matchTag, "keel.sh/matchTag", false, warnings);
        var preRelease = ReadBool(matchPreRelease, "keel.sh/matchPreRelease", true, warnings);
        var text = (policy ?? "").Trim();
        if (text.Length == 0 || text.Equals("never", StringComparison.OrdinalIgnoreCase))
        {
            return new(Never, null, warnings);
        }
        if (text.StartsWith("glob:", StringComparison.OrdinalIgnoreCase))
        {
            var glob = text[5..];
            return glob.Length == 0
                ? new(Never, "policy 'glob:' has no pattern", warnings)
                : new(new UpdatePolicy(PolicyKind.Glob, glob, tagOnly, preRelease), null, warnings);
        }
        if (text.StartsWith("regexp:", StringComparison.OrdinalIgnoreCase))
        {
            return ParseRegexp(text[7..], tagOnly, preRelease, warnings);
        }
        PolicyKind? kind = text.ToLowerInvariant() switch
        {
            "all" => PolicyKind.All,
            "major" => PolicyKind.Major,
            "minor" => PolicyKind.Minor,
            "patch" => PolicyKind.Patch,
            "force" => PolicyKind.Force,
            _ => null,
        };
        return kind is { } known
            ? new(new UpdatePolicy(known, "", tagOnly, preRelease), null, warnings)
            : new(Never, $"unknown policy '{text}': use all, major, minor, patch, force, glob:<pattern> or regexp:<pattern>; the workload is not tracked", warnings);
    }

    private static PolicyParseResult ParseRegexp(string pattern, bool tagOnly, bool preRelease, List<string> warnings)
    {
        if (pattern.Length == 0)
        {
            return new(Never, "policy 'regexp:' has no pattern", warnings);
        }
        if (!UntrustedPattern.TryCompile(pattern, out var compiled, out var error))
        {
            var shown = pattern.Length > 80 ? pattern[..80] + "…" : pattern;
            return new(Never, $"policy 'regexp:{shown}' is not a usable regular expression: {error}", warnings);
        }
        return new(new UpdatePolicy(PolicyKind.Regexp, pattern, tagOnly, preRelease, compiled), null, warnings);
    }

    private static bool ReadBool(string? value, string key, bool fallback, List<string> warnings)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return fallback;
        }
        if (bool.TryParse(value.Trim(), out var result))
        {
            return result;
        }
        warnings.Add($"{key} '{value}' is neither true nor false; using {fallback.ToString().ToLowerInvariant()}");
        return fallback;
    }
}
