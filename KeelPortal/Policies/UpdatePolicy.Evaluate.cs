namespace KeelPortal.Policies;

public sealed partial class UpdatePolicy
{
    /// <summary>May <paramref name="candidate"/> replace <paramref name="current"/>? Keel's rules (KEEL-SEMANTICS §2).</summary>
    public TagVerdict Evaluate(string current, string candidate) => Evaluate(Read(current, 0), Read(candidate, 0));

    internal TagCandidate Read(string tag, int index)
    {
        var version = KeelVersion.TryParse(tag, out var parsed) ? parsed : null;
        return new TagCandidate(tag, version, Kind == PolicyKind.Regexp ? RegexKey(tag) : null, index);
    }

    internal TagVerdict Evaluate(TagCandidate current, TagCandidate candidate) => Kind switch
    {
        PolicyKind.All or PolicyKind.Major or PolicyKind.Minor or PolicyKind.Patch => Semver(current, candidate),
        PolicyKind.Force => Force(current, candidate),
        PolicyKind.Glob => Glob(current, candidate),
        PolicyKind.Regexp => Regexp(current, candidate),
        _ => Verdict(candidate, VerdictKind.NotTracked, current),
    };

    private TagVerdict Semver(TagCandidate current, TagCandidate candidate)
    {
        if (current.Tag == "latest")
        {
            return Verdict(candidate, VerdictKind.Eligible, current, "the current tag is latest, so any tag is an update");
        }
        if (!candidate.Tag.Contains('.', StringComparison.Ordinal))
        {
            return Verdict(candidate, VerdictKind.NotAVersion, current, "a version needs at least major.minor");
        }
        if (candidate.Version is not { } next)
        {
            return Verdict(candidate, VerdictKind.NotAVersion, current, "it does not parse as major.minor.patch[-pre-release]");
        }
        if (current.Version is not { } now)
        {
            return Verdict(candidate, VerdictKind.CurrentNotAVersion, current);
        }
        if (Kind != PolicyKind.All && MatchPreRelease && now.PreRelease != next.PreRelease)
        {
            return Verdict(candidate, VerdictKind.PreReleaseDiffers, current);
        }
        var order = next.CompareTo(now);
        if (order <= 0)
        {
            return Verdict(candidate, order == 0 ? VerdictKind.Current : VerdictKind.Older, current);
        }
        if (Kind is PolicyKind.Minor or PolicyKind.Patch && next.Major != now.Major)
        {
            return Verdict(candidate, VerdictKind.OtherMajor, current);
        }
        if (Kind == PolicyKind.Patch && next.Minor != now.Minor)
        {
            return Verdict(candidate, VerdictKind.OtherMinor, current);
        }
        return Verdict(candidate, VerdictKind.Eligible, current);
    }

    private TagVerdict Force(TagCandidate current, TagCandidate candidate)
    {
        if (candidate.Tag == current.Tag)
        {
            return Verdict(candidate, VerdictKind.Eligible, current, "the same tag, re-pushed images are followed by digest");
        }
        if (MatchTag)
        {
            return Verdict(candidate, VerdictKind.OtherTag, current);
        }
        if (current.Version is { } now && candidate.Version is { } next)
        {
            var order = next.CompareTo(now);
            return order > 0 ? Verdict(candidate, VerdictKind.Eligible, current)
                : Verdict(candidate, order == 0 ? VerdictKind.Current : VerdictKind.Older, current);
        }
        return Verdict(candidate, VerdictKind.Eligible, current, "force accepts any tag that is not a lower version");
    }

    private TagVerdict Glob(TagCandidate current, TagCandidate candidate)
    {
        if (!Wildcard.Matches(globParts, candidate.Tag))
        {
            return Verdict(candidate, VerdictKind.NoMatch, current);
        }
        return ByKey(current, candidate, candidate.Tag, current.Tag);
    }

    /// <summary>Keel never compares regexp tags with the current one; we do, so a redeploy loop cannot start.</summary>
    private TagVerdict Regexp(TagCandidate current, TagCandidate candidate)
    {
        if (candidate.RegexKey is not { } key)
        {
            return Verdict(candidate, VerdictKind.NoMatch, current);
        }
        if (candidate.Tag == current.Tag)
        {
            return Verdict(candidate, VerdictKind.Current, current);
        }
        return current.RegexKey is { } currentKey
            ? ByKey(current, candidate, key, currentKey, RegexKeys.Compare)
            : Verdict(candidate, VerdictKind.Eligible, current, "matches, and the current tag does not");
    }

    private TagVerdict ByKey(TagCandidate current, TagCandidate candidate, string key, string currentKey, Comparison<string>? compare = null)
    {
        var order = (compare ?? string.CompareOrdinal)(key, currentKey);
        return order > 0 ? Verdict(candidate, VerdictKind.Eligible, current, "sorts after " + current.Tag)
            : Verdict(candidate, order == 0 ? VerdictKind.Current : VerdictKind.Older, current);
    }

    /// <summary>The regexp sort key: the <c>compare</c> group when the pattern has one, else the whole tag; null when it does not match.</summary>
    private string? RegexKey(string tag)
    {
        try
        {
            var match = regex!.Match(tag);
            if (!match.Success)
            {
                return null;
            }
            return compareGroup >= 0 && match.Groups[compareGroup].Success ? match.Groups[compareGroup].Value : tag;
        }
        catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
            return null;
        }
    }

    private TagVerdict Verdict(TagCandidate candidate, VerdictKind kind, TagCandidate current, string? detail = null) =>
        new(candidate, kind, current, Name, detail);
}
