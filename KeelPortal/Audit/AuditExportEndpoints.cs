using System.Globalization;
using System.Text;
using KeelPortal.Access;

namespace KeelPortal.Audit;

/// <summary>
/// The audit trail as CSV (<c>GET /audit/export.csv</c>, the page's filters as query parameters), for everyone who may
/// read it. Cells that a spreadsheet would run as a formula are prefixed with an apostrophe.
/// </summary>
public static class AuditExportEndpoints
{
    public static IEndpointRouteBuilder MapAudit(this IEndpointRouteBuilder app)
    {
        app.MapGet("/audit/export.csv", ExportAsync).RequireAuthorization(Roles.CanView);
        return app;
    }

    private static async Task ExportAsync(
        HttpContext context, AuditTrail trail, string? search, string? action, string? actor, string? subject, DateTime? from, DateTime? to)
    {
        context.Response.ContentType = "text/csv; charset=utf-8";
        context.Response.Headers.ContentDisposition = "attachment; filename=\"keelportal-audit.csv\"";
        var query = new AuditQuery(search, Action: action, Actor: actor, Subject: subject,
            FromUtc: from?.ToUniversalTime(), ToUtc: to?.ToUniversalTime());
        await using var writer = new StreamWriter(context.Response.Body, new UTF8Encoding(false));
        await writer.WriteLineAsync("occurredAtUtc,actor,action,subject,details");
        await foreach (var e in trail.StreamAsync(query, context.RequestAborted))
        {
            await writer.WriteLineAsync(string.Join(',',
                e.OccurredAtUtc.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture), Cell(e.Actor), Cell(e.Action), Cell(e.Subject), Cell(e.Details)));
        }
    }

    internal static string Cell(string? value)
    {
        var text = value ?? "";
        if (text.Length > 0 && text[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            text = "'" + text;
        }
        return text.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
    }
}
