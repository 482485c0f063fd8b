using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace KeelPortal.Data;

/// <summary>
/// Lets SQLite itself wait for another writer's lock (it retries within milliseconds) instead of Microsoft.Data.Sqlite's
/// fallback, which sleeps 150 ms after every "database is locked": with several writers (the watcher, jobs, votes) that
/// fallback added up to 150 ms to a vote or a webhook whenever two writes met.
/// </summary>
internal sealed class SqliteBusyWait(TimeSpan wait) : DbConnectionInterceptor
{
    private string Pragma => $"PRAGMA busy_timeout = {(int)wait.TotalMilliseconds};";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
