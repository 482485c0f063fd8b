using System.ComponentModel.DataAnnotations;

namespace KeelPortal.Helm;

public sealed class HelmOptions
{
    public const string Section = "Helm";

    /// <summary>
    /// Discover Helm 3 releases (their storage Secrets and ConfigMaps) and update them through Helm. Off by default: it
    /// needs the right to read Secrets, and upgrades need the rights of everything the charts render.
    /// </summary>
    public bool Enabled { get; set; }

    /// <summary>The <c>helm</c> 3 binary: a path, or a name looked up on <c>PATH</c>.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Helm:BinaryPath is required (for example \"helm\" or \"/usr/local/bin/helm\").")]
    public string BinaryPath { get; set; } = "helm";

    /// <summary>How long one <c>helm upgrade</c> may run before it is stopped and the apply fails.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00", ErrorMessage = "Helm:UpgradeTimeout must be between 00:00:05 and 01:00:00.")]
    public TimeSpan UpgradeTimeout { get; set; } = TimeSpan.FromMinutes(5);
}
