using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// The portal in a test host with its own data folder. Each instance has its own SQLite and Hangfire files,
/// so hosts never share state through the disk.
/// </summary>
public sealed class PortalFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> settings = new(StringComparer.OrdinalIgnoreCase);
    private readonly string? contentRoot;

    /// <param name="contentRoot">Another content root (for example an empty folder); the repository root by default.</param>
    public PortalFactory(string? contentRoot = null)
    {
        this.contentRoot = contentRoot;
        DataDirectory = Directory.CreateTempSubdirectory("keelportal-test-").FullName;
        if (contentRoot is null)
        {
            if (TestDatabase.OnPostgres)
            {
                Database = TestDatabase.NewPostgresDatabase();
                settings["Data:Provider"] = "postgres";
                settings["Data:ConnectionString"] = Database;
                // One replica: it watches without electing (the API test servers of these tests grant no Lease).
                settings["Workloads:LeaderElection"] = "off";
            }
            else
            {
                settings["Data:ConnectionString"] = $"Data Source={Path.Combine(DataDirectory, "portal.db")}";
            }
            settings["Jobs:StoragePath"] = Path.Combine(DataDirectory, "hangfire.db");
            settings["Data:KeysPath"] = Path.Combine(DataDirectory, "keys");
            // No cluster unless a test points at one: never the machine's own kubeconfig.
            settings["Workloads:Kubeconfig"] = Path.Combine(DataDirectory, "no-kubeconfig");
        }
    }

    public string DataDirectory { get; }

    /// <summary>The PostgreSQL database this portal uses when the tests run on PostgreSQL (<see cref="TestDatabase"/>); otherwise null.</summary>
    public string? Database { get; }

    public LogCapture Logs { get; } = new();

    private readonly List<Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>> overrides = [];

    /// <summary>Replaces services after the app registered its own (a fake clock, for example).</summary>
    public PortalFactory WithServices(Action<Microsoft.Extensions.DependencyInjection.IServiceCollection> configure)
    {
        overrides.Add(configure);
        return this;
    }

    /// <summary>
    /// Starts the portal expecting its settings to be refused: start-up fails, and the one critical log line — the
    /// report that names every problem — is returned.
    /// </summary>
    public string RefusedSettingsReport()
    {
        Assert.ThrowsAny<InvalidOperationException>(() => CreateClient());
        return Assert.Single(Logs.Lines, l => l.Level == Microsoft.Extensions.Logging.LogLevel.Critical).Message;
    }

    public PortalFactory With(string key, string? value)
    {
        settings[key] = value;
        return this;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        // The repository's top, where the portal's appsettings.json lives, whichever assembly hosts it (the
        // benchmarks too, which have no content-root attribute of their own and would get the default logging).
        builder.UseContentRoot(contentRoot ?? RepoPaths.Root);
        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(settings));
        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        builder.ConfigureTestServices(services =>
        {
            foreach (var configure in overrides)
            {
                configure(services);
            }
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Database is not null)
            {
                // Its idle connections would otherwise count against the shared server's limit for minutes.
                using var connection = new Npgsql.NpgsqlConnection(Database);
                Npgsql.NpgsqlConnection.ClearPool(connection);
            }
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A file still open by a finishing background thread; the temp folder is cleaned by the OS.
            }
        }
    }
}

/// <summary>Tests that start app hosts run one at a time: Hangfire keeps process-wide state.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AppHosts
{
    public const string Name = "app hosts";
}
