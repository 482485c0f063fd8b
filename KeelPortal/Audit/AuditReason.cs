namespace KeelPortal.Audit;

/// <summary>
/// The reason a person gives for an audited action (a hold, a skip, a rollback, a freeze, letting an update past its
/// window): required, and at most <see cref="MaxLength"/> characters.
/// </summary>
public static class AuditReason
{
    public const int MaxLength = 500;

    /// <summary>Why the reason is refused; null when it is fine.</summary>
    public static string? Problem(string? reason) =>
        string.IsNullOrWhiteSpace(reason) ? "say why (a reason is required)"
        : reason.Trim().Length > MaxLength ? $"the reason is longer than {MaxLength} characters"
        : null;
}
