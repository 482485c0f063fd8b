using System.ComponentModel.DataAnnotations;

namespace KeelPortal.Data;

public sealed class DataOptions
{
    public const string Section = "Data";

    /// <summary>SQLite connection string; a relative <c>Data Source</c> is resolved against the content root.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Data:ConnectionString is required (for example \"Data Source=data/keelportal.db\").")]
    public string ConnectionString { get; set; } = "Data Source=data/keelportal.db";

    /// <summary>
    /// Folder of the Data Protection key ring that encrypts stored secrets (registry passwords, webhook URLs);
    /// relative to the content root. Back it up with the database: without it the secrets cannot be read.
    /// </summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Data:KeysPath is required (for example \"data/keys\").")]
    public string KeysPath { get; set; } = "data/keys";
}
