using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Data;

/// <summary>Applies pending EF Core migrations before the portal starts serving.</summary>
internal sealed partial class DatabaseMigrator(
    IDbContextFactory<PortalDbContext> contexts, ILogger<DatabaseMigrator> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        if (pending.Count > 0)
        {
            var names = string.Join(", ", pending);
            LogApplying(logger, pending.Count, names);
            await db.Database.MigrateAsync(cancellationToken);
        }
        if (db.Database.IsSqlite())
        {
            // Write-ahead logging: a commit appends to the log (one sync) instead of journalling and rewriting pages, and
            // readers never wait for the writer. The mode is kept in the file, so every connection and process uses it.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Applying {Count} database migration(s): {Migrations}")]
    private static partial void LogApplying(ILogger logger, int count, string migrations);
}
