namespace KeelPortal.Access;

public sealed class AccessOptions
{
    public const string Section = "Access";

    /// <summary>
    /// The first administrator, created at start-up when the portal has no account yet. Without it the console offers
    /// a one-time setup page instead. There is no default password. The password is a secret: set it through an
    /// environment variable (<c>Access__Admin__Password</c>) or a secret store.
    /// </summary>
    public AdminAccount Admin { get; set; } = new();
}

public sealed class AdminAccount
{
    public string? UserName { get; set; }
    public string? Password { get; set; }
}

/// <summary>The three roles; each includes what the ones before it may do.</summary>
public static class Roles
{
    public const string Viewer = "Viewer";
    public const string Approver = "Approver";
    public const string Admin = "Admin";

    public static readonly IReadOnlyList<string> All = [Viewer, Approver, Admin];

    /// <summary>Policies: who may look, who may vote, who may administer.</summary>
    public const string CanView = "can-view";
    public const string CanVote = "can-vote";
    public const string CanAdminister = "can-administer";
}
