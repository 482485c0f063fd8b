using KeelPortal.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Access;

/// <summary>Whether any account exists yet (the setup page is open only while none does).</summary>
public sealed class UserCount(IDbContextFactory<PortalDbContext> contexts)
{
    public async Task<bool> NoneAsync()
    {
        await using var db = await contexts.CreateDbContextAsync();
        return !await db.Set<IdentityUser>().AnyAsync();
    }
}
