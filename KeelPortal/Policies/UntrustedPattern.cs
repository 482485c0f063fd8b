using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace KeelPortal.Policies;

/// <summary>
/// Regular expressions from workloads' annotations (<c>regexp:</c> policies, <c>keel.sh/monitorContainers</c>): whoever
/// may annotate a workload writes them, so they are compiled with the guarantees of Go's RE2, which Keel uses: a
/// non-backtracking engine (matching time grows with the input, never exponentially), a length limit, and a time
/// budget on every match all the same. Constructs RE2 lacks (backreferences, lookaround, atomic groups) are refused.
/// </summary>
public static class UntrustedPattern
{
    public const int MaxLength = 512;
    public static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(100);
    private const int MaxCached = 512;
    private static readonly ConcurrentDictionary<string, Regex> Cache = new(StringComparer.Ordinal);

    /// <summary>
    /// Patterns are read again on every poll and every change of a workload: each is built once. The cache is bounded;
    /// past it, patterns are built for each use.
    /// </summary>
    public static bool TryCompile(string pattern, [NotNullWhen(true)] out Regex? regex, [NotNullWhen(false)] out string? error)
    {
        if (Cache.TryGetValue(pattern, out regex))
        {
            error = null;
            return true;
        }
        if (!TryBuild(pattern, out regex, out error))
        {
            return false;
        }
        if (Cache.Count < MaxCached)
        {
            regex = Cache.GetOrAdd(pattern, regex);
        }
        return true;
    }

    private static bool TryBuild(string pattern, [NotNullWhen(true)] out Regex? regex, [NotNullWhen(false)] out string? error)
    {
        regex = null;
        if (pattern.Length > MaxLength)
        {
            error = $"the pattern is {pattern.Length} characters long; the limit is {MaxLength}";
            return false;
        }
        try
        {
            regex = new Regex(GoRegex.ToDotNet(pattern), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, Budget);
            error = null;
            return true;
        }
        catch (ArgumentException e)
        {
            error = e.Message;
        }
        catch (NotSupportedException e)
        {
            error = $"it uses a construct Go's regular expressions do not have ({e.Message})";
        }
        catch (InsufficientExecutionStackException)
        {
            error = "it is nested too deeply";
        }
        return false;
    }
}
