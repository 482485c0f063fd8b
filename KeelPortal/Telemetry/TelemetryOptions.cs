using System.ComponentModel.DataAnnotations;

namespace KeelPortal.Telemetry;

public sealed class TelemetryOptions
{
    public const string Section = "Metrics";

    /// <summary>
    /// Serve <c>/metrics</c> (Prometheus text format). On by default. On <see cref="Port"/> anyone who reaches that port
    /// reads them (keep it inside the cluster: the chart's NetworkPolicy); on the console's port only a signed-in
    /// administrator, an administrator's API token, or the bearer <see cref="Token"/>.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The port (a second Kestrel endpoint, for example 9464) that serves <c>/metrics</c> without sign-in; judged by the
    /// port the connection arrived on, never by the Host header. Unset: metrics only for those <see cref="Enabled"/> names.
    /// </summary>
    [Range(1, 65535, ErrorMessage = "Metrics:Port must be a TCP port between 1 and 65535.")]
    public int? Port { get; set; }

    /// <summary>A bearer token that opens <c>/metrics</c> and nothing else (Prometheus' <c>authorization</c>); unset: none.</summary>
    public string? Token { get; set; }
}
