namespace KeelPortal.Access;

public sealed class AccessOptions
{
    public const string Section = "Access";

    /// <summary>
    /// Accounts for the Keel-compatible <c>/v1</c> API (HTTP Basic), keyed by user name: <c>Access:ApiUsers:alice = &lt;password&gt;</c>.
    /// Passwords are secrets: set them through environment variables or a secret store, never in a committed file.
    /// </summary>
    public Dictionary<string, string> ApiUsers { get; set; } = new(StringComparer.Ordinal);
}
