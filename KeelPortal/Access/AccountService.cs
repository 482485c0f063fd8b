using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using KeelPortal.Audit;
using KeelPortal.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Access;

public sealed record AccountSummary(string Id, string UserName, string Role, bool Locked, IReadOnlyList<ApiTokenSummary> Tokens);

public sealed record ApiTokenSummary(long Id, string Name, string Prefix, DateTime CreatedAtUtc, DateTime? LastUsedAtUtc, bool Revoked, DateTime? ExpiresAtUtc = null);

/// <summary>What an account change said; <see cref="Fields"/> names each wrong field of a form, with why (all of them at once).</summary>
public sealed record AccountResult(bool Succeeded, string? Error, string? Token = null, IReadOnlyDictionary<string, string>? Fields = null);

/// <summary>
/// An account's role, lock or password changed, or it was removed: every replica's open consoles of that
/// account re-read it at once (<see cref="SessionRevalidation"/>) instead of at their next interval.
/// </summary>
public sealed record AccountChanged(string UserId);

/// <summary>Accounts, roles and API tokens (admins manage them on the Users page); every change is audited.</summary>
public sealed partial class AccountService(
    IServiceScopeFactory scopes, IDbContextFactory<PortalDbContext> contexts, AuditTrail audit, Outbox outbox, TimeProvider time) : IDisposable
{
    public const string TokenPrefix = "kp_";

    public async Task<AccountResult> CreateAsync(string userName, string password, string role, string actor)
    {
        using var scope = scopes.CreateScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<IdentityUser>>();
        var user = new IdentityUser((userName ?? "").Trim());
        // Every field is checked at once (Identity alone stops at the password), so a form can show each beside its field.
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(userName))
        {
            problems["userName"] = "give the person a user name";
        }
        else if (await Failures(users.UserValidators.Select(v => (Func<Task<IdentityResult>>)(() => v.ValidateAsync(users, user)))) is { } nameProblem)
        {
            problems["userName"] = nameProblem;
        }
        if (await Failures(users.PasswordValidators.Select(v => (Func<Task<IdentityResult>>)(() => v.ValidateAsync(users, user, password ?? "")))) is { } passwordProblem)
        {
            problems["password"] = passwordProblem;
        }
        if (!Roles.All.Contains(role))
        {
            problems["role"] = $"role must be one of {string.Join(", ", Roles.All)}";
        }
        if (problems.Count > 0)
        {
            return new(false, string.Join("; ", problems.Values), Fields: problems);
        }
        var created = await users.CreateAsync(user, password!);
        if (!created.Succeeded)
        {
            return new(false, string.Join(" ", created.Errors.Select(e => e.Description)));
        }
        await users.AddToRoleAsync(user, role);
        await audit.RecordAsync(actor, AuditActions.UserCreated, $"user/{user.UserName}", $"role {role}");
        return new(true, null);
    }

    /// <summary>What Identity's checks say, one after the other (they share the scope's database context).</summary>
    private static async Task<string?> Failures(IEnumerable<Func<Task<IdentityResult>>> checks)
    {
        var failed = new List<string>();
        foreach (var check in checks)
        {
            failed.AddRange((await check()).Errors.Select(e => e.Description));
        }
        return failed.Count == 0 ? null : string.Join(" ", failed);
    }

    /// <summary>Why a token name cannot be used (null: it can).</summary>
    public static string? TokenNameProblem(string? name) =>
        string.IsNullOrWhiteSpace(name) || name.Trim().Length > 200 ? "give the token a name of up to 200 characters, such as the tool that will use it" : null;

    public async Task<AccountResult> SetRoleAsync(string userName, string role, string actor)
    {
        if (!Roles.All.Contains(role))
        {
            return new(false, $"role must be one of {string.Join(", ", Roles.All)}");
        }
        using var scope = scopes.CreateScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<IdentityUser>>();
        var user = await users.FindByNameAsync(userName);
        if (user is null)
        {
            return new(false, $"there is no user {userName}");
        }
        var before = Roles.Highest(await users.GetRolesAsync(user)) ?? "no role";
        if (before == Roles.Admin && role != Roles.Admin && await IsLastActiveAdminAsync(users, user))
        {
            return new(false, $"{userName} is the last administrator; make someone else an administrator first");
        }
        await users.RemoveFromRolesAsync(user, await users.GetRolesAsync(user));
        await users.AddToRoleAsync(user, role);
        // Sessions keep the account: every request re-reads the role (AccessSetup), and open consoles hear of it now.
        await outbox.PublishAsync(new AccountChanged(user.Id));
        await audit.RecordAsync(actor, AuditActions.UserRole, $"user/{userName}", $"{before} -> {role}");
        return new(true, null);
    }

    public async Task<IReadOnlyList<AccountSummary>> ListAsync()
    {
        using var scope = scopes.CreateScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<IdentityUser>>();
        await using var db = await contexts.CreateDbContextAsync();
        var tokens = await db.Set<ApiToken>().AsNoTracking().ToListAsync();
        var result = new List<AccountSummary>();
        foreach (var user in await users.Users.OrderBy(u => u.UserName).ToListAsync())
        {
            var role = Roles.Highest(await users.GetRolesAsync(user)) ?? Roles.Viewer;
            result.Add(new AccountSummary(user.Id, user.UserName!, role, await users.IsLockedOutAsync(user), tokens.Where(t => t.UserId == user.Id)
                .Select(t => new ApiTokenSummary(t.Id, t.Name, t.Prefix, t.CreatedAtUtc, t.LastUsedAtUtc, t.RevokedAtUtc is not null, t.ExpiresAtUtc)).ToList()));
        }
        return result;
    }

    /// <summary>Creates a token for <paramref name="userName"/>; the token is returned once and only its hash is kept.</summary>
    public async Task<AccountResult> CreateTokenAsync(string userName, string name, string actor, DateTime? expiresAtUtc = null)
    {
        if (expiresAtUtc is { } expiry && expiry <= time.GetUtcNow().UtcDateTime)
        {
            return new(false, "the expiry must be in the future");
        }
        using var scope = scopes.CreateScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<IdentityUser>>();
        var user = await users.FindByNameAsync(userName);
        if (user is null)
        {
            return new(false, $"there is no user {userName}");
        }
        if (TokenNameProblem(name) is { } nameProblem)
        {
            return new(false, nameProblem, Fields: new Dictionary<string, string>(StringComparer.Ordinal) { ["name"] = nameProblem });
        }
        var token = TokenPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        await using var db = await contexts.CreateDbContextAsync();
        db.Add(new ApiToken { UserId = user.Id, Name = name.Trim(), Hash = Hash(token), Prefix = token[..8], CreatedAtUtc = time.GetUtcNow().UtcDateTime, ExpiresAtUtc = expiresAtUtc });
        await db.SaveChangesAsync();
        await audit.RecordAsync(actor, AuditActions.TokenCreated, $"user/{userName}", expiresAtUtc is { } until ? $"{name.Trim()}, expires {until:u}" : name.Trim());
        return new(true, null, token);
    }

    public async Task<bool> RevokeTokenAsync(long tokenId, string actor)
    {
        await using var db = await contexts.CreateDbContextAsync();
        var now = time.GetUtcNow().UtcDateTime;
        var revoked = await db.Set<ApiToken>().Where(t => t.Id == tokenId && t.RevokedAtUtc == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAtUtc, now));
        if (revoked > 0)
        {
            await audit.RecordAsync(actor, AuditActions.TokenRevoked, $"token/{tokenId}", null);
        }
        return revoked > 0;
    }

    /// <summary>How precisely a token's last use is kept.</summary>
    public static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    /// <summary>The principal a token stands for, or null when it is unknown, revoked or expired.</summary>
    public async Task<ClaimsPrincipal?> AuthenticateTokenAsync(string token, string scheme)
    {
        await using var db = await contexts.CreateDbContextAsync();
        var hash = Hash(token);
        var now = time.GetUtcNow().UtcDateTime;
        // The token and the account it stands for, with the account's lockout and roles, in one query.
        var row = await db.Set<ApiToken>().AsNoTracking()
            .Where(t => t.Hash == hash && t.RevokedAtUtc == null && (t.ExpiresAtUtc == null || t.ExpiresAtUtc > now))
            .Join(db.Users, t => t.UserId, u => u.Id, (t, u) => new
            {
                TokenId = t.Id, t.LastUsedAtUtc, u.Id, u.UserName, u.LockoutEnabled, u.LockoutEnd,
                Roles = db.UserRoles.Where(r => r.UserId == u.Id).Join(db.Roles, r => r.RoleId, role => role.Id, (_, role) => role.Name!).ToList(),
            })
            .SingleOrDefaultAsync();
        if (row is null)
        {
            return null;
        }
        // "Last used" to the minute: a pipeline calling many times a second does not write on every call.
        if (row.LastUsedAtUtc is not { } last || now - last >= LastUsedResolution)
        {
            await db.Set<ApiToken>().Where(t => t.Id == row.TokenId).ExecuteUpdateAsync(s => s.SetProperty(t => t.LastUsedAtUtc, now));
        }
        return Unlocked(row.Id, row.UserName, row.LockoutEnabled, row.LockoutEnd, row.Roles) is { } person ? Principal(person, scheme) : null;
    }

    /// <summary>
    /// The principal for a user name and password (the API's Basic authentication), or null. Failures do not count
    /// towards the account's lockout, or anyone could lock an administrator out with ten requests; the API throttles
    /// failed attempts per client address instead (<see cref="BasicAttemptLimiter"/>).
    /// </summary>
    public async Task<ClaimsPrincipal?> AuthenticatePasswordAsync(string userName, string password, string scheme)
    {
        using var scope = scopes.CreateScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<IdentityUser>>();
        var user = await users.FindByNameAsync(userName);
        if (user is null || await users.IsLockedOutAsync(user) || !await users.CheckPasswordAsync(user, password))
        {
            return null;
        }
        var userId = user.Id;
        return await PrincipalAsync(u => u.Id == userId, scheme);
    }

    private async Task<ClaimsPrincipal?> PrincipalAsync(System.Linq.Expressions.Expression<Func<IdentityUser, bool>> which, string scheme) =>
        await PersonAsync(which, CancellationToken.None) is { } person ? Principal(person, scheme) : null;

    private static ClaimsPrincipal Principal(Person person, string scheme)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, person.UserName), new(ClaimTypes.NameIdentifier, person.Id) };
        claims.AddRange(person.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme));
    }

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
