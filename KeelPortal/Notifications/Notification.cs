using System.Globalization;

namespace KeelPortal.Notifications;

/// <summary>
/// One thing to tell people about, independent of where it goes: the event, its level, Keel's sentence, the workload
/// and the versions. Stored with each delivery (it holds no secret) so a retry sends exactly what the first attempt did.
/// </summary>
public sealed record Notification(
    NotificationEvents Event,
    NotificationLevel Level,
    string Message,
    string? ResourceKind,
    string? Namespace,
    string? Name,
    string? FromVersion,
    string? ToVersion,
    string? Votes,
    DateTime? DeadlineUtc,
    string? ReleaseNotes,
    string? LinkPath,
    DateTime CreatedAtUtc,
    long? ApprovalId = null)
{
    public string Title => Event.Title();

    /// <summary>Keel's identifier of the resource: <c>deployment/shop/web</c>.</summary>
    public string? Identifier => ResourceKind is null ? null : $"{ResourceKind}/{Namespace}/{Name}";

    /// <summary>The workload as people read it: <c>deployment shop/web</c>.</summary>
    public string? Workload => ResourceKind is null ? null : $"{ResourceKind} {Namespace}/{Name}";

    public string? Change => FromVersion is null || ToVersion is null ? null : $"{FromVersion} → {ToVersion}";

    public string? Deadline => DeadlineUtc?.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>The facts every channel type shows as fields, in order, leaving out the ones this event has not got.</summary>
    public IReadOnlyList<(string Name, string Value)> Facts()
    {
        var facts = new List<(string, string)>();
        if (Workload is not null)
        {
            facts.Add(("Workload", Workload));
        }
        if (Change is not null)
        {
            facts.Add(("Version", Change));
        }
        if (Votes is not null)
        {
            facts.Add(("Votes", Votes));
        }
        if (Deadline is not null)
        {
            facts.Add(("Deadline", Deadline));
        }
        return facts;
    }
}

/// <summary>Keel's sentences, kept word for word where Keel has one, so people and scripts reading them see no change.</summary>
public static class NotificationText
{
    public static string Applied(string kind, string ns, string name, string from, string to, IEnumerable<string> images, string? releaseNotes)
    {
        var text = $"Successfully updated {kind} {ns}/{name} {from}->{to} ({string.Join(", ", images)})";
        // Release notes come from the workload: only as a link that passes the safe-link rule, never as text.
        return Registries.SafeLink.ForMessage(releaseNotes) is { } notes ? $"{text}. Release notes: {notes}" : text;
    }

    /// <summary>A rollback applied: from where to where, and why (who asked, or the failed rollout that started it).</summary>
    public static string RolledBack(string kind, string ns, string name, string from, string to, IEnumerable<string> images, string? reason) =>
        $"Rolled back {kind} {ns}/{name} {from}->{to} ({string.Join(", ", images)}){Because(reason)}";

    public static string Failed(string kind, string ns, string name, string from, string to, string error) =>
        $"{kind} {ns}/{name} update {from}->{to} failed, error: {error}";

    public static string ApprovalRequired(string kind, string ns, string name, string from, string to, int votesRequired, DateTime deadlineUtc) =>
        $"New image is available for {kind} {ns}/{name} ({from} -> {to}): {votesRequired} vote(s) needed by "
        + $"{deadlineUtc.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)}.";

    public static string Approved(string kind, string ns, string name, string from, string to, IEnumerable<string> voters) =>
        $"Update of {kind} {ns}/{name} {from}->{to} approved by {string.Join(", ", voters)}.";

    public static string Rejected(string kind, string ns, string name, string from, string to, string? reason) =>
        $"Update of {kind} {ns}/{name} {from}->{to} rejected{Because(reason)}.";

    public static string Expired(string kind, string ns, string name, string from, string to, int votes, int required) =>
        $"Approval to update {kind} {ns}/{name} {from}->{to} expired with {votes}/{required} vote(s).";

    public static string Superseded(string kind, string ns, string name, string from, string to, string? reason) =>
        $"Approval to update {kind} {ns}/{name} {from}->{to} was {reason ?? "superseded"}.";

    public static string Rollout(string kind, string ns, string name, string from, string to, bool succeeded, string reason) =>
        $"Rollout of {kind} {ns}/{name} {from}->{to} {(succeeded ? "succeeded" : "failed")}: {reason}";

    private static string Because(string? reason) => string.IsNullOrWhiteSpace(reason) ? "" : $": {reason}";
}
