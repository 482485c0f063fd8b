using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Data;

/// <summary>
/// The portal's database: every slice's entities (found by their configurations) and the Identity accounts. On SQLite
/// (the default) it is this type; on PostgreSQL it is <see cref="PostgresDbContext"/>, which has its own migrations.
/// </summary>
public class PortalDbContext : IdentityDbContext<IdentityUser>
{
    public PortalDbContext(DbContextOptions<PortalDbContext> options)
        : base(options) => NoSavepoints();

    protected PortalDbContext(DbContextOptions options)
        : base(options) => NoSavepoints();

    /// <summary>
    /// A SaveChanges inside an explicit transaction would otherwise set and release a savepoint (two more round trips
    /// each): the portal never carries on with a transaction after a failed SaveChanges, it rolls the whole one back.
    /// </summary>
    private void NoSavepoints() => Database.AutoSavepointsEnabled = false;

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.ApplyConfigurationsFromAssembly(typeof(PortalDbContext).Assembly);
    }
}
