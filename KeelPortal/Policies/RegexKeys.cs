namespace KeelPortal.Policies;

/// <summary>
/// How regexp sort keys (the <c>compare</c> group, else the whole tag) are ordered: two whole numbers as numbers, any
/// other pair as ordinal strings, as Keel does. A deliberate difference from Keel (KEEL-SEMANTICS §2), whose string
/// order puts <c>build-99</c> after <c>build-100</c> and so proposes a downgrade. Dates and zero-padded numbers order
/// the same either way.
/// </summary>
internal static class RegexKeys
{
    public static int Compare(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!IsWholeNumber(a) || !IsWholeNumber(b))
        {
            return string.CompareOrdinal(a, b);
        }
        // Any length, no overflow: without leading zeros the longer number is the larger; equal lengths order as text.
        var x = a.AsSpan().TrimStart('0');
        var y = b.AsSpan().TrimStart('0');
        var byValue = x.Length != y.Length ? x.Length.CompareTo(y.Length) : x.SequenceCompareTo(y);
        // 007 and 7 are the same number: the one written longer counts as the larger, so the order stays total and stable.
        return byValue != 0 ? byValue : a.Length.CompareTo(b.Length);
    }

    private static bool IsWholeNumber(string s) => s.Length > 0 && s.AsSpan().IndexOfAnyExceptInRange('0', '9') < 0;
}
