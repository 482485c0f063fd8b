using KeelPortal.Data;
using KeelPortal.Tests.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Data;

[Collection(AppHosts.Name)]
public sealed class SqliteBusyWaitTests
{
    [Fact]
    public async Task Every_connection_lets_SQLite_wait_for_another_writer_itself()
    {
        await using var portal = new PortalFactory();
        var contexts = portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        await using var db = await contexts.CreateDbContextAsync();
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "PRAGMA busy_timeout";

        Assert.Equal(30_000L, (long)(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task The_database_keeps_a_write_ahead_log_so_readers_never_wait_for_the_writer()
    {
        await using var portal = new PortalFactory();
        var contexts = portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        await using var db = await contexts.CreateDbContextAsync();
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "PRAGMA journal_mode";

        Assert.Equal("wal", (string)(await command.ExecuteScalarAsync())!);
    }
}
