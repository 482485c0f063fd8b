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
        builder.Services.AddOptions<DataOptions>()
            .BindConfiguration(DataOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => TryParse(o.ConnectionString) is not null,
                "Data:ConnectionString is not a valid SQLite connection string.")
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<DataOptions>, KeyRingCertificateValidation>();

        var contentRoot = builder.Environment.ContentRootPath;
        builder.Services.AddDbContextFactory<PortalDbContext>((sp, options) =>
        {
            var configured = sp.GetRequiredService<IOptions<DataOptions>>().Value.ConnectionString;
            options.UseSqlite(ResolveConnectionString(configured, contentRoot));
            options.AddInterceptors(BusyWait);
            // A unique index that decides a race refuses the loser's write; EF Core would log that as an error with a
            // stack trace. Its callers classify it (UniqueViolation) and every other failure propagates to be logged there.
            options.ConfigureWarnings(w => w.Log((RelationalEventId.CommandError, LogLevel.Debug), (CoreEventId.SaveChangesFailed, LogLevel.Debug)));
        });
        builder.Services.AddHostedService<DatabaseMigrator>();
        builder.Services.AddSingleton<EventHub>();

        // Keys live next to the database so secrets encrypted today can be read after a restart or an upgrade.
        builder.Services.AddDataProtection().SetApplicationName("KeelPortal");
        builder.Services.AddOptions<KeyManagementOptions>()
            .Configure<IOptions<DataOptions>, ILoggerFactory>((keys, data, logs) =>
            {
                var folder = new DirectoryInfo(ResolvePath(data.Value.KeysPath, contentRoot));
                keys.XmlRepository = new FileSystemXmlRepository(folder, logs);
                if (KeyRingCertificate.Load(data.Value, contentRoot, out _) is { } certificate)
                {
                    keys.XmlEncryptor = new CertificateKeyEncryptor(certificate);
                }
            });
        return builder;
    }

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
