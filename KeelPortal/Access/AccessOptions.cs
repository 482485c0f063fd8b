using System.ComponentModel.DataAnnotations;

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

    /// <summary>Optional sign-in with an OpenID Connect provider, next to portal passwords.</summary>
    public OidcOptions Oidc { get; set; } = new();

    /// <summary>How often an open console re-reads its account (role, lock, removal, sign-out elsewhere).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan SessionRevalidation { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// "Keep me signed in": how long a sign-in that asked for it lasts at most, from the moment of signing in, however
    /// active its browser stays (its cookie survives the browser's restarts and slides with use until then). The
    /// administrator of the installation sets it; zero takes the choice away (every session ends with the browser, or
    /// after eight idle hours).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "90.00:00:00")]
    public TimeSpan KeepSignedInMax { get; set; } = TimeSpan.FromDays(14);

    /// <summary>Failed HTTP Basic sign-ins on the API allowed per client address and window before it is refused (429).</summary>
    [Range(1, 10_000)]
    public int BasicFailuresPerWindow { get; set; } = 10;

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan BasicFailureWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Proxies (addresses or CIDR networks) whose X-Forwarded-For and X-Forwarded-Proto headers are believed.</summary>
    public List<string> TrustedProxies { get; set; } = [];
}

public sealed class OidcOptions
{
    /// <summary>The provider's issuer URL; unset turns OpenID Connect sign-in off.</summary>
    public string? Authority { get; set; }

    public string? ClientId { get; set; }

    /// <summary>A secret: set it through an environment variable (<c>Access__Oidc__ClientSecret</c>) or a secret store.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>The button text on the sign-in page.</summary>
    public string DisplayName { get; set; } = "single sign-on";

    /// <summary>The claim whose values map to roles (a provider's groups or roles claim).</summary>
    public string RoleClaim { get; set; } = "groups";

    /// <summary>Claim value → portal role (<c>Viewer</c>, <c>Approver</c>, <c>Admin</c>); the highest match wins.</summary>
    public Dictionary<string, string> RoleMap { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The role of someone the map does not match; unset refuses them.</summary>
    public string? DefaultRole { get; set; }

    public bool RequireHttpsMetadata { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority) && !string.IsNullOrWhiteSpace(ClientId);
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

    /// <summary>The strongest of <paramref name="roles"/> that is a portal role, or null.</summary>
    public static string? Highest(IEnumerable<string> roles) =>
        roles.Where(All.Contains).OrderByDescending(r => All.ToList().IndexOf(r)).FirstOrDefault();

    /// <summary>Policies: who may look, who may vote, who may administer.</summary>
    public const string CanView = "can-view";
    public const string CanVote = "can-vote";
    public const string CanAdminister = "can-administer";
}
