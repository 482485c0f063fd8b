using KeelPortal.Data;
using Microsoft.Data.Sqlite;

namespace KeelPortal.Jobs;

/// <summary>
/// <c>dotnet KeelPortal.dll backup &lt;folder&gt;</c>: a consistent copy of the portal's data while it runs — the database
/// and Hangfire's storage through SQLite's online backup (pages copied under SQLite's own locking, so writers carry on),
/// each copy checked with <c>PRAGMA integrity_check</c>, and the key ring without which stored secrets cannot be read.
/// It copies the job storage too, so it lives here, above the data slice.
/// </summary>
public static class DataBackup
{
    public static int Run(IConfiguration configuration, string contentRoot, string target, TextWriter output)
    {
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            output.WriteLine($"backup: {target} is not empty; name a new folder");
            return 2;
        }
        Directory.CreateDirectory(target);
        var data = configuration.GetSection(DataOptions.Section).Get<DataOptions>() ?? new DataOptions();
        var jobs = configuration.GetSection(JobsOptions.Section).Get<JobsOptions>() ?? new JobsOptions();
        var copies = new List<(string Source, string Copy)>();
        if (DataSetup.DatabasePath(data.ConnectionString, contentRoot) is { } database)
        {
            copies.Add((database, Path.Combine(target, "keelportal.db")));
        }
        copies.Add((DataSetup.ResolvePath(jobs.StoragePath, contentRoot), Path.Combine(target, "hangfire.db")));
        foreach (var (source, copy) in copies)
        {
            if (!File.Exists(source))
            {
                output.WriteLine($"backup: {source} does not exist");
                return 1;
            }
            var check = Copy(source, copy);
            output.WriteLine($"backup: {source} -> {copy} (integrity check: {check})");
            if (check != "ok")
            {
                return 1;
            }
        }
        var keys = DataSetup.ResolvePath(data.KeysPath, contentRoot);
        var keysCopy = Path.Combine(target, "keys");
        Directory.CreateDirectory(keysCopy);
        foreach (var file in Directory.Exists(keys) ? Directory.GetFiles(keys) : [])
        {
            File.Copy(file, Path.Combine(keysCopy, Path.GetFileName(file)));
        }
        output.WriteLine($"backup: key ring {keys} -> {keysCopy} ({Directory.GetFiles(keysCopy).Length} keys)");
        output.WriteLine("backup: done; restore by stopping the portal and putting these files back where they came from");
        return 0;
    }

    private static string Copy(string source, string copy)
    {
        using (var from = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = source, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString()))
        using (var to = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = copy, Pooling = false }.ToString()))
        {
            from.Open();
            to.Open();
            from.BackupDatabase(to);
        }
        using var check = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = copy, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        check.Open();
        using var command = check.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        return command.ExecuteScalar() as string ?? "no answer";
    }
}
