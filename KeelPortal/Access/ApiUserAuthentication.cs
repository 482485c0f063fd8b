using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace KeelPortal.Access;

/// <summary>
/// The API's credentials: a personal token (<c>Authorization: Bearer kp_…</c>) or, for Keel clients, HTTP Basic with a
/// portal account. Either way the principal is the account, with its roles; the voter is that account.
/// </summary>
public sealed class ApiAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AccountService accounts)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Api";

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
        var user = colon < 0 ? null : await accounts.AuthenticatePasswordAsync(decoded[..colon], decoded[(colon + 1)..], SchemeName);
        return user is null ? AuthenticateResult.Fail("unknown user or wrong password") : Success(user);
    }

    private static AuthenticateResult Success(System.Security.Claims.ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 401;
        Response.Headers.WWWAuthenticate = "Basic realm=\"KeelPortal\"";
        await Results.Problem(statusCode: 401, title: "Sign-in required",
            detail: "the /v1 API needs an API token (Authorization: Bearer kp_…) or HTTP Basic credentials of a portal account").ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 403;
        await Results.Problem(statusCode: 403, title: "Not allowed",
            detail: $"{Context.User.Identity?.Name} may not do this: it needs the {Roles.Approver} or {Roles.Admin} role").ExecuteAsync(Context);
    }
}
