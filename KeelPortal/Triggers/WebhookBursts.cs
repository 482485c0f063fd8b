using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace KeelPortal.Triggers;

/// <summary>
/// Registries and CI systems often send the same event several times within moments (retries, one notification per
/// endpoint, a replayed delivery). An event (provider, repository, tag, digest) already received within
/// <see cref="TriggersOptions.WebhookRepeatWindow"/> is not queued again, so a burst makes one job.
/// </summary>
public sealed class WebhookBursts(IOptions<TriggersOptions> options, TimeProvider time)
{
    private const int PruneAbove = 10_000;
    private readonly ConcurrentDictionary<string, DateTimeOffset> seen = new(StringComparer.Ordinal);

    /// <summary>The events not received within the window; each is remembered from now on.</summary>
    public IReadOnlyList<ImageEvent> TakeNew(string provider, IReadOnlyList<ImageEvent> events)
    {
        var now = time.GetUtcNow();
        var window = options.Value.WebhookRepeatWindow;
        if (seen.Count > PruneAbove)
        {
            foreach (var (key, at) in seen)
            {
                if (now - at >= window)
                {
                    seen.TryRemove(key, out _);
                }
            }
        }
        var fresh = new List<ImageEvent>();
        foreach (var e in events.Distinct())
        {
            var key = Key(provider, e);
            var first = true;
            seen.AddOrUpdate(key, now, (_, at) =>
            {
                if (now - at < window)
                {
                    first = false;
                    return at;
                }
                return now;
            });
            if (first)
            {
                fresh.Add(e);
            }
        }
        return fresh;
    }

    /// <summary>
    /// Forgets events taken by <see cref="TakeNew"/> whose webhook was not stored (the commit failed, the portal was
    /// stopping): the sender is told to send it again, and the same events sent again must then be taken.
    /// </summary>
    public void Forget(string provider, IReadOnlyList<ImageEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events)
        {
            seen.TryRemove(Key(provider, e), out _);
        }
    }

    private static string Key(string provider, ImageEvent e) => $"{provider}\n{e.Repository}\n{e.Tag}\n{e.Digest}";
}
