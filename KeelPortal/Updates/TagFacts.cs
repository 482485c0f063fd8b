using System.Collections.Concurrent;
using KeelPortal.Policies;

namespace KeelPortal.Updates;

/// <summary>
/// What was learned about a repository's tags (the platforms a tag's image supports), kept so a poll that sees the
/// same tags again asks the registry for its tag list only. Entries age out after <see cref="Lifetime"/>; the table is
/// bounded.
/// </summary>
public sealed class TagFacts(TimeProvider time)
{
    private const int MaxEntries = 50_000;
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(6);
    private readonly ConcurrentDictionary<string, (IReadOnlyList<Platform> Platforms, DateTimeOffset LearnedAt)> platforms = new(StringComparer.Ordinal);

    public bool TryGetPlatforms(string repository, string tag, out IReadOnlyList<Platform> supported)
    {
        if (platforms.TryGetValue(Key(repository, tag), out var known) && time.GetUtcNow() - known.LearnedAt < Lifetime)
        {
            supported = known.Platforms;
            return true;
        }
        supported = [];
        return false;
    }

    public void RememberPlatforms(string repository, string tag, IReadOnlyList<Platform> supported)
    {
        if (platforms.Count >= MaxEntries)
        {
            platforms.Clear();
        }
        platforms[Key(repository, tag)] = (supported, time.GetUtcNow());
    }

    private static string Key(string repository, string tag) => $"{repository}:{tag}";
}
