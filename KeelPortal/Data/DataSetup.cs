using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace KeelPortal.Data;

public static class DataSetup
{
    private static readonly SqliteBusyWait BusyWait = new(TimeSpan.FromSeconds(30));

    public static WebApplicationBuilder AddData(this WebApplicationBuilder builder)
    {
        // Keel's environment variables: mapped to their settings, or start-up stops naming them (KeelEnvironment).
        builder.Configuration.AddKeelEnvironment();
        builder.Services.AddSingleton<IValidateOptions<DataOptions>, KeelEnvironmentValidation>();
        builder.Services.AddHostedService<KeelEnvironmentLog>();
        builder.Services.AddOptions<DataOptions>()
            .BindConfiguration(DataOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.IsPostgres || TryParse(o.ConnectionString) is not null,
                "Data:ConnectionString is not a valid SQLite connection string.")
            .Validate(o => !o.IsPostgres || TryParsePostgres(o.ConnectionString),
                "Data:ConnectionString is not a valid PostgreSQL connection string (Host=…;Database=…;Username=…).")
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<DataOptions>, KeyRingCertificateValidation>();
        builder.Services.AddModes<DataOptions>(DataOptions.Section);

        var contentRoot = builder.Environment.ContentRootPath;
        // Pooled: a new context otherwise sets up its own services and looks for a compiled model (reflection under a
        // lock) every time — a few milliseconds on each of the dozens of contexts a webhook, a vote or an apply opens.
        builder.Services.AddPooledDbContextFactory<PortalDbContext>((sp, options) =>
        {
            var configured = sp.GetRequiredService<IOptions<DataOptions>>().Value.ConnectionString;
            options.UseSqlite(ResolveConnectionString(configured, contentRoot));
            options.AddInterceptors(BusyWait, sp.GetRequiredService<OutboxCommitWake>());
            QuietRaces(options);
        });
        builder.Services.AddPooledDbContextFactory<PostgresDbContext>((sp, options) =>
        {
            options.UseNpgsql(sp.GetRequiredService<IOptions<DataOptions>>().Value.ConnectionString);
            options.AddInterceptors(sp.GetRequiredService<OutboxCommitWake>());
            QuietRaces(options);
        });
        // Every slice asks for IDbContextFactory<PortalDbContext>; the provider is chosen when it is first resolved.
        var sqlite = builder.Services.Last(d => d.ServiceType == typeof(IDbContextFactory<PortalDbContext>));
        builder.Services.Remove(sqlite);
        builder.Services.AddSingleton<IDbContextFactory<PortalDbContext>>(sp => sp.GetRequiredService<IOptions<DataOptions>>().Value.IsPostgres
            ? new PostgresContexts(sp.GetRequiredService<IDbContextFactory<PostgresDbContext>>())
            : (IDbContextFactory<PortalDbContext>)sqlite.ImplementationFactory!(sp));
        // Identity's stores and the key ring's repository take a context from the request's (or their own) scope; it
        // goes back to the pool with the scope.
        builder.Services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContext());
        builder.Services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<PostgresDbContext>>().CreateDbContext());
        // First of all hosted services: the key ring (in the database on PostgreSQL) and every job read migrated tables.
        builder.Services.Insert(0, ServiceDescriptor.Singleton<IHostedService, DatabaseMigrator>());
        AddOutboxAndWork(builder.Services);
        AddKeyRing(builder.Services, contentRoot);
        return builder;
    }

    /// <summary>Changes others must hear of, and work that must happen once: rows written with the change, one runner per replica.</summary>
    private static void AddOutboxAndWork(IServiceCollection services)
    {
        services.AddSingleton<EventHub>();
        // Changes others must hear of are rows written with the change; each replica's relay reads them.
        services.AddSingleton<EventSignal>();
        services.AddSingleton<OutboxCommitWake>();
        services.AddSingleton<Outbox>();
        services.AddSingleton<EventRelay>();
        services.AddHostedService(sp => sp.GetRequiredService<EventRelay>());
        // Work that must happen once: one lease, one retry policy, for every handler the slices register.
        services.AddOptions<WorkOptions>().BindConfiguration(WorkOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.MaxRetryDelay >= o.FirstRetryDelay, "Work:MaxRetryDelay must not be shorter than Work:FirstRetryDelay.")
            .ValidateOnStart();
        services.AddSingleton<WorkStarts>();
        services.AddSingleton<WorkRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<WorkRunner>());

    }

    /// <summary>
    /// Keys live next to the database so secrets encrypted today can be read after a restart or an upgrade; on
    /// PostgreSQL they live in it, so every replica reads and writes the same key ring.
    /// </summary>
    private static void AddKeyRing(IServiceCollection services, string contentRoot)
    {
        services.AddDataProtection().SetApplicationName("KeelPortal");
        services.AddOptions<KeyManagementOptions>()
            .Configure<IOptions<DataOptions>, ILoggerFactory, IServiceProvider>((keys, data, logs, services) =>
            {
                keys.XmlRepository = data.Value.IsPostgres
                    ? new Microsoft.AspNetCore.DataProtection.EntityFrameworkCore.EntityFrameworkCoreXmlRepository<PostgresDbContext>(services, logs)
                    : new FileSystemXmlRepository(new DirectoryInfo(ResolvePath(data.Value.KeysPath, contentRoot)), logs);
                if (KeyRingCertificate.Load(data.Value, contentRoot, out _) is { } certificate)
                {
                    keys.XmlEncryptor = new CertificateKeyEncryptor(certificate);
                }
            });
    }

    /// <summary>
    /// A unique index that decides a race refuses the loser's write; EF Core would log that as an error with a stack
    /// trace. Its callers classify it (UniqueViolation) and every other failure propagates to be logged there.
    /// </summary>
    private static void QuietRaces(DbContextOptionsBuilder options) =>
        options.ConfigureWarnings(w => w.Log((RelationalEventId.CommandError, LogLevel.Debug), (CoreEventId.SaveChangesFailed, LogLevel.Debug)));

    /// <summary>A data path as the portal uses it: relative ones are under the content root, whatever the working directory.</summary>
    public static string ResolvePath(string path, string contentRoot) => Path.GetFullPath(Path.Combine(contentRoot, path));

    /// <summary>The database file a SQLite connection string names, resolved like <see cref="ResolvePath"/>; null for in-memory.</summary>
    public static string? DatabasePath(string connectionString, string contentRoot)
    {
        var csb = new SqliteConnectionStringBuilder(connectionString);
        return string.IsNullOrEmpty(csb.DataSource) || csb.DataSource == ":memory:" || csb.Mode == SqliteOpenMode.Memory
            ? null : ResolvePath(csb.DataSource, contentRoot);
    }

    /// <summary>
    /// Makes a relative SQLite file path absolute under the content root and creates its folder,
    /// so the database lands in the same place whatever the working directory is.
    /// </summary>
    internal static string ResolveConnectionString(string connectionString, string contentRoot)
    {
        var csb = new SqliteConnectionStringBuilder(connectionString);
        var source = csb.DataSource;
        if (string.IsNullOrEmpty(source) || source == ":memory:" || csb.Mode == SqliteOpenMode.Memory)
        {
            return connectionString;
        }
        if (!Path.IsPathRooted(source))
        {
            source = Path.GetFullPath(Path.Combine(contentRoot, source));
            csb.DataSource = source;
        }
        var folder = Path.GetDirectoryName(source);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }
        return csb.ToString();
    }

    private static bool TryParsePostgres(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return false;
        }
        try
        {
            return new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Host is { Length: > 0 };
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static SqliteConnectionStringBuilder? TryParse(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return null;
        }
        try
        {
            return new SqliteConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
