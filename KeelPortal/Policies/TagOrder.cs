namespace KeelPortal.Policies;

/// <summary>
/// Best-first order per policy kind (KEEL-SEMANTICS §2): versions descending with the remaining tags after them in
/// registry order; glob by tag, descending as strings; regexp by sort key, descending (<see cref="RegexKeys"/>: whole
/// numbers as numbers, as Keel does not). Ties between equal versions such as
/// 1.4 and 1.4.0 break on the tag, so the order never depends on how the registry listed the tags.
/// </summary>
internal static class TagOrder
{
    private static readonly Comparison<TagVerdict> ByVersion = (x, y) =>
    {
        var (a, b) = (x.Candidate, y.Candidate);
        if (a.Version is null || b.Version is null)
        {
            return a.Version is not null ? -1 : b.Version is not null ? 1 : a.Index.CompareTo(b.Index);
        }
        var c = b.Version.CompareTo(a.Version);
        return c != 0 ? c : string.CompareOrdinal(b.Tag, a.Tag);
    };

    private static readonly Comparison<TagVerdict> ByTag = (a, b) => string.CompareOrdinal(b.Tag, a.Tag);

    private static readonly Comparison<TagVerdict> ByRegexKey = (x, y) =>
    {
        var (a, b) = (x.Candidate, y.Candidate);
        if (a.RegexKey is null || b.RegexKey is null)
        {
            return a.RegexKey is not null ? -1 : b.RegexKey is not null ? 1 : a.Index.CompareTo(b.Index);
        }
        var c = RegexKeys.Compare(b.RegexKey, a.RegexKey);
        return c != 0 ? c : string.CompareOrdinal(b.Tag, a.Tag);
    };

    private static readonly Comparison<TagVerdict> AsListed = (a, b) => a.Candidate.Index.CompareTo(b.Candidate.Index);

    public static Comparison<TagVerdict> For(PolicyKind kind) => kind switch
    {
        PolicyKind.All or PolicyKind.Major or PolicyKind.Minor or PolicyKind.Patch or PolicyKind.Force => ByVersion,
        PolicyKind.Glob => ByTag,
        PolicyKind.Regexp => ByRegexKey,
        _ => AsListed,
    };
}
