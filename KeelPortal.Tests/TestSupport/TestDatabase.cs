namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// The database the app-host tests run on. SQLite files in a temporary folder by default; with
/// <c>KEELPORTAL_TEST_DATABASE=postgres</c> (test.sh runs the pipeline, approval and notification tests a second
/// time so) every <see cref="PortalFactory"/> gets its own database on one throwaway PostgreSQL cluster, started on
/// first use and removed when the test process ends. Tests that are about SQLite itself carry
/// <c>[Trait("Database", "sqlite")]</c> and are left out of that run.
/// </summary>
public static class TestDatabase
{
    public const string Variable = "KEELPORTAL_TEST_DATABASE";

    private static readonly Lazy<PostgresProcess> Server = new(() =>
    {
        var server = PostgresProcess.StartAsync().GetAwaiter().GetResult();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return server;
    });

    public static bool OnPostgres => Environment.GetEnvironmentVariable(Variable) switch
    {
        null or "" or "sqlite" => false,
        "postgres" => true,
        var other => throw new InvalidOperationException($"{Variable} must be sqlite or postgres, not '{other}'"),
    };

    /// <summary>A new empty PostgreSQL database on the shared throwaway cluster; its connection string.</summary>
    public static string NewPostgresDatabase() => Server.Value.CreateDatabaseAsync().GetAwaiter().GetResult();
}
