using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace KeelPortal.Data;

/// <summary>
/// The portal's database on PostgreSQL (<c>Data:Provider=postgres</c>): the same model, its own migrations
/// (<c>Migrations/Postgres</c>), and the Data Protection key ring, so every replica reads the same keys.
/// </summary>
public sealed class PostgresDbContext(DbContextOptions<PostgresDbContext> options) : PortalDbContext(options), IDataProtectionKeyContext
{
    public DbSet<DataProtectionKey> DataProtectionKeys { get; set; } = null!;

    /// <summary>
    /// Every time is UTC (<c>timestamp with time zone</c>); a value whose kind was lost on the way (read back from
    /// elsewhere, or built from a date) is marked UTC rather than refused by Npgsql.
    /// </summary>
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        base.ConfigureConventions(configurationBuilder);
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<UtcDateTimeConverter>();
    }
}

/// <summary>Marks every <see cref="DateTime"/> UTC on its way to and from PostgreSQL.</summary>
internal sealed class UtcDateTimeConverter() : Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTime, DateTime>(
    value => DateTime.SpecifyKind(value, DateTimeKind.Utc), value => DateTime.SpecifyKind(value, DateTimeKind.Utc));

/// <summary>Lets <c>dotnet ef migrations add … --context PostgresDbContext</c> build the model without a server.</summary>
internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresDbContext>
{
    public PostgresDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresDbContext>().UseNpgsql("Host=localhost;Database=keelportal").Options);
}

/// <summary>Hands out <see cref="PostgresDbContext"/>s where the portal asks for its <see cref="PortalDbContext"/>.</summary>
internal sealed class PostgresContexts(IDbContextFactory<PostgresDbContext> inner) : IDbContextFactory<PortalDbContext>
{
    public PortalDbContext CreateDbContext() => inner.CreateDbContext();

    public async Task<PortalDbContext> CreateDbContextAsync(CancellationToken cancellationToken = default) =>
        await inner.CreateDbContextAsync(cancellationToken);
}

/// <summary>
/// The SQLite model at design time (<c>dotnet ef … --context PortalDbContext</c>): named so the PostgreSQL factory
/// above, whose context derives from this one, is not taken for it.
/// </summary>
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<PortalDbContext>
{
    public PortalDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PortalDbContext>().UseSqlite("Data Source=design-time.db").Options);
}
