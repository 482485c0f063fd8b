using System.ComponentModel.DataAnnotations;

namespace KeelPortal.Data;

/// <summary>Where the portal keeps its state.</summary>
[System.ComponentModel.TypeConverter(typeof(ModeConverter<DataProvider>))]
public enum DataProvider { Sqlite, Postgres }

public sealed class DataOptions
{
    public const string Section = "Data";

    /// <summary><c>sqlite</c> (one instance, nothing to set up) or <c>postgres</c> (several replicas on one database).</summary>
    public DataProvider Provider { get; set; } = DataProvider.Sqlite;

    public bool IsPostgres => Provider == DataProvider.Postgres;

    /// <summary>
    /// SQLite connection string (a relative <c>Data Source</c> is resolved against the content root), or with
    /// <c>postgres</c> an Npgsql one (<c>Host=…;Database=…;Username=…;Password=…</c>, the password a secret).
    /// </summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Data:ConnectionString is required (for example \"Data Source=data/keelportal.db\").")]
    public string ConnectionString { get; set; } = "Data Source=data/keelportal.db";

    /// <summary>
    /// Folder of the Data Protection key ring that encrypts stored secrets (registry passwords, webhook URLs);
    /// relative to the content root. Back it up with the database: without it the secrets cannot be read.
    /// </summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Data:KeysPath is required (for example \"data/keys\").")]
    public string KeysPath { get; set; } = "data/keys";

    /// <summary>
    /// Optional certificate (PKCS#12 <c>.pfx</c>/<c>.p12</c>, or PEM with the certificate and its private key) whose RSA
    /// key encrypts the key ring at rest; relative to the content root. Without it the key files are plain XML
    /// protected only by the file system.
    /// </summary>
    public string? KeysCertificatePath { get; set; }

    /// <summary>The PKCS#12 file's password, a secret: set it through <c>Data__KeysCertificatePassword</c> or a secret store.</summary>
    public string? KeysCertificatePassword { get; set; }

    /// <summary>
    /// How often each replica reads the outbox when nothing woke it (a commit in this process wakes it at once, and on
    /// PostgreSQL a commit in any replica does).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ErrorMessage = "Data:EventPollInterval must be between 10 ms and 10 minutes.")]
    public TimeSpan EventPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long handled events stay in the outbox (for replicas that were briefly away).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00", ErrorMessage = "Data:EventRetention must be between 1 minute and 30 days.")]
    public TimeSpan EventRetention { get; set; } = TimeSpan.FromHours(1);
}
