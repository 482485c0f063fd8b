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

    /// <summary>The longest comment a vote or a rejection may carry (the column's size).</summary>
    public const int MaxCommentLength = 2000;

    /// <summary>Why an optional vote or reject comment is refused (too long, or control characters other than line breaks and tabs); null when fine.</summary>
    public static string? CommentProblem(string? comment) =>
        comment is null ? null
        : comment.Trim().Length > MaxCommentLength ? $"the comment is longer than {MaxCommentLength} characters"
        : comment.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')) ? "the comment holds control characters"
        : null;
}
