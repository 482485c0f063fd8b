using System.Security.Cryptography;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace KeelPortal.Access;

/// <summary>
/// What every response carries and what the portal believes about its callers: forwarded headers only from
/// <see cref="AccessOptions.TrustedProxies"/> (so behind a TLS-terminating proxy cookies are Secure and redirects use
/// https), HSTS over HTTPS, and headers against sniffing, framing, referrer leaks and injected scripts.
/// </summary>
public static class EdgeSecurity
{
    private const string NonceKey = "keelportal.csp-nonce";

    /// <summary>The nonce this response's Content-Security-Policy allows inline scripts with (the import map).</summary>
    public static string? ScriptNonce(HttpContext? context) => context?.Items[NonceKey] as string;

    public static WebApplication UseEdgeSecurity(this WebApplication app)
    {
        var proxies = app.Services.GetRequiredService<IOptions<AccessOptions>>().Value.TrustedProxies;
        if (proxies.Count > 0)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto };
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in proxies)
            {
                // Validated at start (TrustedProxiesValidation): every entry parses.
                if (!TrustedProxiesValidation.TryParse(proxy, out var address, out var network))
                {
                    continue;
                }
                if (address is not null)
                {
                    forwarded.KnownProxies.Add(address);
                }
                else
                {
                    forwarded.KnownIPNetworks.Add(network);
                }
            }
            app.UseForwardedHeaders(forwarded);
        }
        app.UseHsts();
        app.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "same-origin";
            headers.XFrameOptions = "DENY";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            if (context.Request.Path.StartsWithSegments("/hangfire"))
            {
                // The jobs dashboard writes inline scripts of its own; it still may not be framed.
                headers.ContentSecurityPolicy = "frame-ancestors 'none'";
            }
            else
            {
                // Hex is valid in a nonce and needs no HTML encoding in the attribute.
                var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
                context.Items[NonceKey] = nonce;
                headers.ContentSecurityPolicy = "default-src 'self'; " +
                    $"script-src 'self' 'nonce-{nonce}'; " +
                    // MudBlazor positions and colours elements with style attributes.
                    "style-src 'self' 'unsafe-inline'; " +
                    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
                    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
            }
            return next(context);
        });
        return app;
    }
}
