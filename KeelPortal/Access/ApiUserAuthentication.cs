using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using KeelPortal.Audit;
using Microsoft.Extensions.Options;

namespace KeelPortal.Access;

/// <summary>
/// The API's credentials: a personal token (<c>Authorization: Bearer kp_…</c>) or, for Keel clients, HTTP Basic with a
/// portal account. Either way the principal is the account, with its roles; the voter is that account.
/// </summary>
public sealed class ApiAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AccountService accounts,
    BasicAttemptLimiter limiter, AuditTrail audit)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Api";
    private const string Throttled = "keelportal.basic-throttled";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header) || header.Parameter is null)
        {
            return AuthenticateResult.NoResult();
        }
        if (header.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            var principal = await accounts.AuthenticateTokenAsync(header.Parameter, SchemeName);
            return principal is null ? AuthenticateResult.Fail("unknown or revoked API token") : Success(principal);
        }
        if (!header.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }
        var address = Context.Connection.RemoteIpAddress;
        if (limiter.IsBlocked(address))
        {
            Context.Items[Throttled] = true;
            return AuthenticateResult.Fail("too many failed sign-ins from this address");
        }
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
        }
        catch (FormatException)
        {
            return AuthenticateResult.Fail("the Basic credentials are not base64");
        }
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? "" : decoded[..colon];
        var user = colon < 0 ? null : await accounts.AuthenticatePasswordAsync(name, decoded[(colon + 1)..], SchemeName);
        if (user is not null)
        {
            return Success(user);
        }
        var counted = limiter.RecordFailure(address);
        await audit.RecordAsync(LogText.Clean(name, 200), AuditActions.ApiSigninFailed, $"user/{LogText.Clean(name, 200)}",
            $"HTTP Basic from {address}: unknown user or wrong password{(counted ? "" : $"; further attempts from this address are refused for up to {limiter.Window}")}");
        return AuthenticateResult.Fail("unknown user or wrong password");
    }

    private static AuthenticateResult Success(System.Security.Claims.ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.ContainsKey(Throttled))
        {
            Response.StatusCode = 429;
            Response.Headers.RetryAfter = ((int)Math.Ceiling(limiter.Window.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Results.Problem(statusCode: 429, title: "Too many failed sign-ins",
                detail: $"this address sent too many wrong HTTP Basic credentials; try again within {limiter.Window}, or use an API token").ExecuteAsync(Context);
            return;
        }
        Response.StatusCode = 401;
        Response.Headers.WWWAuthenticate = "Basic realm=\"KeelPortal\"";
        await Results.Problem(statusCode: 401, title: "Sign-in required",
            detail: "the /v1 API needs an API token (Authorization: Bearer kp_…) or HTTP Basic credentials of a portal account").ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 403;
        var policies = Context.GetEndpoint()?.Metadata.GetOrderedMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>().Select(a => a.Policy) ?? [];
        var needed = policies.Contains(AccessSetup.ApiAdminPolicy) ? $"the {Roles.Admin} role" : $"the {Roles.Approver} or {Roles.Admin} role";
        await Results.Problem(statusCode: 403, title: "Not allowed",
            detail: $"{Context.User.Identity?.Name} may not do this: it needs {needed}").ExecuteAsync(Context);
    }
}
