using System.Diagnostics.CodeAnalysis;

namespace KeelPortal.Policies;

/// <summary>
/// A tag read as a version the way Keel reads it: lenient semver with an optional leading <c>v</c>, optional
/// minor and patch (<c>1.4</c> = 1.4.0), pre-release after the first <c>-</c>, build metadata after <c>+</c>
/// (ignored for ordering). Precedence is SemVer 2.0. Four-part versions are not versions.
/// </summary>
/// <remarks>Not NuGet.Versioning: it reads these tags differently (docs/architecture.md; <c>NuGetVersioningTests</c>).</remarks>
public sealed class KeelVersion
{
    private KeelVersion(string tag, ulong major, ulong minor, ulong patch, string preRelease)
    {
        Tag = tag;
        Major = major;
        Minor = minor;
        Patch = patch;
        PreRelease = preRelease;
    }

    public string Tag { get; }
    public ulong Major { get; }
    public ulong Minor { get; }
    public ulong Patch { get; }

    /// <summary>The pre-release label, empty for a release.</summary>
    public string PreRelease { get; }

    public static bool TryParse(string? tag, [NotNullWhen(true)] out KeelVersion? version)
    {
        version = null;
        if (string.IsNullOrEmpty(tag))
        {
            return false;
        }
        var s = tag.AsSpan();
        var i = s[0] == 'v' ? 1 : 0;
        if (!TryNumber(s, ref i, out var major))
        {
            return false;
        }
        ulong minor = 0, patch = 0;
        if (i < s.Length && s[i] == '.')
        {
            i++;
            if (!TryNumber(s, ref i, out minor))
            {
                return false;
            }
            if (i < s.Length && s[i] == '.')
            {
                i++;
                if (!TryNumber(s, ref i, out patch))
                {
                    return false;
                }
            }
        }
        var preRelease = "";
        if (i < s.Length && s[i] == '-')
        {
            var start = ++i;
            if (!TryIdentifiers(s, ref i))
            {
                return false;
            }
            preRelease = tag[start..i];
        }
        if (i < s.Length && s[i] == '+')
        {
            i++;
            if (!TryIdentifiers(s, ref i))
            {
                return false;
            }
        }
        if (i != s.Length)
        {
            return false;
        }
        version = new KeelVersion(tag, major, minor, patch, preRelease);
        return true;
    }

    /// <summary>SemVer 2.0 precedence; build metadata and a leading v do not count.</summary>
    public int CompareTo(KeelVersion other)
    {
        var c = Major.CompareTo(other.Major);
        if (c == 0)
        {
            c = Minor.CompareTo(other.Minor);
        }
        if (c == 0)
        {
            c = Patch.CompareTo(other.Patch);
        }
        return c != 0 ? c : ComparePreRelease(PreRelease, other.PreRelease);
    }

    public override string ToString() => Tag;

    /// <summary>SemVer 2.0 §11: a release outranks any pre-release; identifiers compare numerically when both are numbers.</summary>
    internal static int ComparePreRelease(string a, string b)
    {
        if (a.Length == 0)
        {
            return b.Length == 0 ? 0 : 1;
        }
        if (b.Length == 0)
        {
            return -1;
        }
        var x = a.AsSpan();
        var y = b.AsSpan();
        while (true)
        {
            var xi = x.IndexOf('.');
            var yi = y.IndexOf('.');
            var xPart = xi < 0 ? x : x[..xi];
            var yPart = yi < 0 ? y : y[..yi];
            var c = CompareIdentifier(xPart, yPart);
            if (c != 0)
            {
                return c;
            }
            if (xi < 0 || yi < 0)
            {
                return (xi < 0 ? 0 : 1) - (yi < 0 ? 0 : 1);
            }
            x = x[(xi + 1)..];
            y = y[(yi + 1)..];
        }
    }

    private static int CompareIdentifier(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        var aNumeric = IsDigits(a);
        var bNumeric = IsDigits(b);
        if (aNumeric && bNumeric)
        {
            var trimmedA = a.TrimStart('0');
            var trimmedB = b.TrimStart('0');
            return trimmedA.Length != trimmedB.Length
                ? trimmedA.Length.CompareTo(trimmedB.Length)
                : trimmedA.SequenceCompareTo(trimmedB);
        }
        if (aNumeric != bNumeric)
        {
            return aNumeric ? -1 : 1;
        }
        return Math.Sign(a.SequenceCompareTo(b));
    }

    private static bool IsDigits(ReadOnlySpan<char> s) => s.Length > 0 && !s.ContainsAnyExceptInRange('0', '9');

    private static bool TryNumber(ReadOnlySpan<char> s, ref int i, out ulong value)
    {
        var start = i;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
        }
        return ulong.TryParse(s[start..i], System.Globalization.NumberStyles.None, null, out value);
    }

    /// <summary>Dot-separated, non-empty identifiers of <c>[0-9A-Za-z-]</c>.</summary>
    private static bool TryIdentifiers(ReadOnlySpan<char> s, ref int i)
    {
        var partLength = 0;
        for (; i < s.Length; i++)
        {
            var ch = s[i];
            if (char.IsAsciiLetterOrDigit(ch) || ch == '-')
            {
                partLength++;
            }
            else if (ch == '.' && partLength > 0)
            {
                partLength = 0;
            }
            else
            {
                break;
            }
        }
        return partLength > 0;
    }
}
