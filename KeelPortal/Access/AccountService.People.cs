using KeelPortal.Audit;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Access;

public sealed partial class AccountService
{
    /// <summary>
    /// The portal role <paramref name="userName"/> holds right now, read from the database: null when the account does
    /// not exist (any more) or is locked. Actions that need a role ask this at the moment they act, never a session's
    /// copy of the role.
    /// </summary>
    public async Task<string?> CurrentRoleAsync(string userName, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(userName))
        {
            return null;
        }
        string normalized;
        using (var scope = scopes.CreateScope())
        {
            normalized = scope.ServiceProvider.GetRequiredService<UserManager<IdentityUser>>().NormalizeName(userName);
        }
        return await PersonAsync(u => u.NormalizedUserName == normalized, ct) is { } person ? Roles.Highest(person.Roles) : null;
    }

    /// <summary>An account as authentication and the gate see it: its name, id and roles, unless it is locked.</summary>
    private sealed record Person(string Id, string UserName, IReadOnlyList<string> Roles);

    /// <summary>
    /// The account <paramref name="which"/> names, read with its lockout and its roles in one query (as UserManager's
    /// FindBy…, IsLockedOut and GetRoles would in three): null when there is none or it is locked out.
    /// </summary>
    private async Task<Person?> PersonAsync(System.Linq.Expressions.Expression<Func<IdentityUser, bool>> which, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Users.AsNoTracking().Where(which)
            .Select(u => new
            {
                u.Id, u.UserName, u.LockoutEnabled, u.LockoutEnd,
                Roles = db.UserRoles.Where(r => r.UserId == u.Id).Join(db.Roles, r => r.RoleId, role => role.Id, (_, role) => role.Name!).ToList(),
            })
            .SingleOrDefaultAsync(ct);
        return row is null ? null : Unlocked(row.Id, row.UserName, row.LockoutEnabled, row.LockoutEnd, row.Roles);
    }

    /// <summary>The account as read, unless it is locked out as Identity decides it: lockout enabled and its end not yet passed.</summary>
    private Person? Unlocked(string id, string? userName, bool lockoutEnabled, DateTimeOffset? lockoutEnd, IReadOnlyList<string> roles) =>
        userName is null || (lockoutEnabled && lockoutEnd >= time.GetUtcNow()) ? null : new(id, userName, roles);

    private readonly SemaphoreSlim setup = new(1, 1);

    /// <summary>
    /// The one-time setup: creates the first administrator while no account exists, or returns null when one does.
    /// Concurrent posts are taken one at a time, so exactly one of them creates an account.
    /// </summary>
    public async Task<AccountResult?> CreateFirstAdminAsync(string userName, string password)
    {
        await setup.WaitAsync();
        try
        {
            using var scope = scopes.CreateScope();
            if (await scope.ServiceProvider.GetRequiredService<UserManager<IdentityUser>>().Users.AnyAsync())
            {
                return null;
            }
            var name = userName.Trim();
            return await CreateAsync(name, password, Roles.Admin, name.Length == 0 ? "setup" : name);
        }
        finally
        {
            setup.Release();
        }
    }

    public void Dispose() => setup.Dispose();

    /// <summary>Locks an account until an administrator unlocks it: its sessions end and its API tokens stop working.</summary>
    public Task<AccountResult> LockAsync(string userName, string actor) => ChangeAsync(userName, actor, "lock", async (users, user) =>
    {
        await users.SetLockoutEnabledAsync(user, true);
        await users.SetLockoutEndDateAsync(user, DateTimeOffset.MaxValue);
        await users.UpdateSecurityStampAsync(user);
        return AuditActions.UserLocked;
    });

    public Task<AccountResult> UnlockAsync(string userName, string actor) => ChangeAsync(userName, actor, null, async (users, user) =>
    {
        await users.SetLockoutEndDateAsync(user, null);
        await users.ResetAccessFailedCountAsync(user);
        return AuditActions.UserUnlocked;
    });

    /// <summary>Removes an account and its API tokens; its open sessions end. Its votes and audit entries stay.</summary>
    public Task<AccountResult> RemoveAsync(string userName, string actor) => ChangeAsync(userName, actor, "remove", async (users, user) =>
    {
        await using var db = await contexts.CreateDbContextAsync();
        await db.Set<ApiToken>().Where(t => t.UserId == user.Id).ExecuteDeleteAsync();
        var deleted = await users.DeleteAsync(user);
        return deleted.Succeeded ? AuditActions.UserRemoved : throw new InvalidOperationException(string.Join(" ", deleted.Errors.Select(e => e.Description)));
    });

    /// <summary>
    /// Gives an account a new password chosen by an administrator (the password rules apply); its sessions end, so
    /// whoever held the old password is signed out.
    /// </summary>
    public Task<AccountResult> SetPasswordAsync(string userName, string password, string actor) => ChangeAsync(userName, actor, null, async (users, user) =>
    {
        foreach (var validator in users.PasswordValidators)
        {
            var checkedPassword = await validator.ValidateAsync(users, user, password);
            if (!checkedPassword.Succeeded)
            {
                throw new PasswordRefusedException(string.Join(" ", checkedPassword.Errors.Select(e => e.Description)));
            }
        }
        await users.RemovePasswordAsync(user);
        var added = await users.AddPasswordAsync(user, password);
        if (!added.Succeeded)
        {
            throw new PasswordRefusedException(string.Join(" ", added.Errors.Select(e => e.Description)));
        }
        await users.UpdateSecurityStampAsync(user);
        return AuditActions.UserPassword;
    });

    /// <summary>Ends every session of the account (sign-out): a copy of an old session cookie no longer works.</summary>
    public async Task EndSessionsAsync(string userId)
    {
        using var scope = scopes.CreateScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<IdentityUser>>();
        if (await users.FindByIdAsync(userId) is { } user)
        {
            // No AccountChanged here: the console signing out is navigating to the signed-out page, and re-reading it
            // at once would race that navigation with one to the sign-in page. The account's other open consoles end
            // at their next periodic re-read (Access:SessionRevalidation); each request already checks the stamp.
            await users.UpdateSecurityStampAsync(user);
        }
    }

    private async Task<AccountResult> ChangeAsync(
        string userName, string actor, string? guardedVerb, Func<UserManager<IdentityUser>, IdentityUser, Task<AuditAction>> change)
    {
        using var scope = scopes.CreateScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<IdentityUser>>();
        var user = await users.FindByNameAsync(userName);
        if (user is null)
        {
            return new(false, $"there is no user {userName}");
        }
        if (guardedVerb is not null)
        {
            if (string.Equals(user.UserName, actor, StringComparison.Ordinal))
            {
                return new(false, $"you cannot {guardedVerb} your own account");
            }
            if (await IsLastActiveAdminAsync(users, user))
            {
                return new(false, $"{userName} is the last administrator; make someone else an administrator first");
            }
        }
        AuditAction action;
        try
        {
            action = await change(users, user);
        }
        catch (PasswordRefusedException refused)
        {
            return new(false, refused.Message);
        }
        await outbox.PublishAsync(new AccountChanged(user.Id));
        await audit.RecordAsync(actor, action, $"user/{userName}", null);
        return new(true, null);
    }

    /// <summary>Whether <paramref name="user"/> is an administrator and no other unlocked administrator exists.</summary>
    private static async Task<bool> IsLastActiveAdminAsync(UserManager<IdentityUser> users, IdentityUser user)
    {
        var admins = await users.GetUsersInRoleAsync(Roles.Admin);
        if (admins.All(a => a.Id != user.Id))
        {
            return false;
        }
        foreach (var other in admins.Where(a => a.Id != user.Id))
        {
            if (!await users.IsLockedOutAsync(other))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>A new password the rules refuse; the account is left as it was.</summary>
internal sealed class PasswordRefusedException(string message) : Exception(message);
