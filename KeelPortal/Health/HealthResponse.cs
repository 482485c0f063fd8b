using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace KeelPortal.Health;

/// <summary>Writes the readiness result as JSON so an operator sees which check failed and why.</summary>
internal static class HealthResponse
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}
