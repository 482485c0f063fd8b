using System.ComponentModel.DataAnnotations;

namespace KeelPortal.Telemetry;

public sealed class TelemetryOptions
{
    public const string Section = "Metrics";

    /// <summary>Serve <c>/metrics</c> (Prometheus text format). On by default; it needs no sign-in, like <c>/healthz</c>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Serve <c>/metrics</c> only on this port (for example 9090), apart from the console; unset: the console's port.</summary>
    [Range(1, 65535, ErrorMessage = "Metrics:Port must be a TCP port between 1 and 65535.")]
    public int? Port { get; set; }
}
