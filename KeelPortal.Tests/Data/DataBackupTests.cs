using KeelPortal.Audit;
using KeelPortal.Jobs;
using KeelPortal.Tests.TestSupport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Data;

[Collection(AppHosts.Name)]
public sealed class DataBackupTests
{
    [Fact]
    public async Task The_backup_command_copies_a_consistent_database_while_the_portal_writes()
    {
        await using var portal = new PortalFactory();
        var audit = portal.Services.GetRequiredService<AuditTrail>();
        await audit.RecordAsync("root", AuditActions.TokenCreated, "backup-before", "written before the backup");
        using var writing = new CancellationTokenSource();
        var writes = 0;
        var writer = Task.Run(async () =>
        {
            while (!writing.IsCancellationRequested)
            {
                await audit.RecordAsync("root", AuditActions.TokenRevoked, "backup-during", $"write {++writes}");
            }
        });
        await Eventually.TrueAsync(() => writes > 20, TimeSpan.FromSeconds(10), "the portal writing");
        var target = Path.Combine(Directory.CreateTempSubdirectory("keelportal-backup-").FullName, "copy");
        var configuration = portal.Services.GetRequiredService<IConfiguration>();
        using var output = new StringWriter();

        var exit = DataBackup.Run(configuration, RepoPaths.Root, target, output);
        await writing.CancelAsync();
        await writer;

        Assert.True(exit == 0, output.ToString());
        Assert.Contains("(integrity check: ok)", output.ToString(), StringComparison.Ordinal);
        using var copy = new SqliteConnection($"Data Source={Path.Combine(target, "keelportal.db")};Mode=ReadOnly;Pooling=False");
        copy.Open();
        using var count = copy.CreateCommand();
        count.CommandText = "SELECT count(*) FROM AuditEntries WHERE Subject = 'backup-before'";
        Assert.Equal(1L, (long)count.ExecuteScalar()!);
        Assert.True(File.Exists(Path.Combine(target, "hangfire.db")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(target, "keys")));
        Assert.Equal(2, DataBackup.Run(configuration, RepoPaths.Root, target, TextWriter.Null));
    }
}
