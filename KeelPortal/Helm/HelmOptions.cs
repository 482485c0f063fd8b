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

    /// <summary>
    /// Where a release's <c>keel.chart</c> may have helm fetch a chart from: chart repository URLs
    /// (<c>https://charts.example.com</c>) and OCI references (<c>oci://registry.example.com/charts</c>), each covering itself
    /// and what lies under it. Empty (the default): a release is only ever upgraded with its own stored chart. Loopback,
    /// link-local and private addresses are refused unless listed here.
    /// </summary>
    public List<string> AllowedChartSources { get; set; } = [];

    /// <summary>The folder a <c>keel.chart</c> local path must lie in; unset (the default): local chart paths are refused.</summary>
    public string? LocalChartFolder { get; set; }
}

/// <summary>Every allowed chart source must be one (reported with the others at start).</summary>
internal sealed class HelmOptionsValidation : Microsoft.Extensions.Options.IValidateOptions<HelmOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, HelmOptions options)
    {
        var errors = ChartSources.OptionErrors(options).ToList();
        return errors.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(errors);
    }
}
