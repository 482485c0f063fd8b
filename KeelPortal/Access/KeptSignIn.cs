using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace KeelPortal.Access;

/// <summary>
/// "Keep me signed in": a persistent cookie that slides with use, and ends at <see cref="AccessOptions.KeepSignedInMax"/>
/// after the sign-in however active it stays (the moment of signing in travels in the cookie's protected properties).
/// Without it a session cookie ends with the browser, or after eight idle hours.
/// </summary>
public static class KeptSignIn
{
    private const string SignedInAt = "keelportal.signedInAt";

    /// <summary>The properties of a new sign-in; <paramref name="keep"/> only counts while the maximum is above zero.</summary>
    public static AuthenticationProperties Properties(bool keep, AccessOptions access, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(access);
        if (!keep || access.KeepSignedInMax <= TimeSpan.Zero)
        {
            return new AuthenticationProperties { IsPersistent = false };
        }
        var properties = new AuthenticationProperties { IsPersistent = true, IssuedUtc = now, ExpiresUtc = now + access.KeepSignedInMax };
        properties.Items[SignedInAt] = now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        return properties;
    }

    /// <summary>
    /// Every request: a kept sign-in past its maximum (or one whose start cannot be read) is signed out; then the
    /// account itself is checked (role, lock, sign-out elsewhere) as for every session.
    /// </summary>
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Properties.IsPersistent)
        {
            var access = context.HttpContext.RequestServices.GetRequiredService<IOptionsMonitor<AccessOptions>>().CurrentValue;
            var now = context.HttpContext.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
            var ends = context.Properties.Items.TryGetValue(SignedInAt, out var text) && long.TryParse(text, out var seconds)
                ? DateTimeOffset.FromUnixTimeSeconds(seconds) + access.KeepSignedInMax
                : DateTimeOffset.MinValue;
            if (now >= ends)
            {
                context.RejectPrincipal();
                await context.HttpContext.SignOutAsync(IdentityConstants.ApplicationScheme);
                return;
            }
        }
        await SecurityStampValidator.ValidatePrincipalAsync(context);
    }
}
