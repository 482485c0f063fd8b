using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace KeelPortal.Access;

/// <summary>Checks a user name and password for the API; the seam where portal accounts replace configured users.</summary>
public interface IApiUserValidator
{
    /// <summary>The authenticated user name, or null.</summary>
    string? Validate(string user, string password);
}

/// <summary>Users configured under <c>Access:ApiUsers</c>, compared in constant time.</summary>
public sealed class ConfiguredApiUsers(IOptionsMonitor<AccessOptions> options) : IApiUserValidator
{
    public string? Validate(string user, string password)
    {
        if (!options.CurrentValue.ApiUsers.TryGetValue(user, out var expected) || string.IsNullOrEmpty(expected))
        {
            return null;
        }
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(password), Encoding.UTF8.GetBytes(expected)) ? user : null;
    }
}

/// <summary>HTTP Basic for Keel clients: the authenticated name is the voter.</summary>
public sealed class ApiBasicHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, IApiUserValidator users)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiBasic";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header)
            || !header.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) || header.Parameter is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
        }
        catch (FormatException)
        {
            return Task.FromResult(AuthenticateResult.Fail("the Basic credentials are not base64"));
        }
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? null : users.Validate(decoded[..colon], decoded[(colon + 1)..]);
        if (name is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("unknown user or wrong password"));
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 401;
        Response.Headers.WWWAuthenticate = "Basic realm=\"KeelPortal\"";
        await Results.Problem(statusCode: 401, title: "Sign-in required",
            detail: "the /v1 API needs HTTP Basic credentials of a user configured under Access:ApiUsers").ExecuteAsync(Context);
    }
}
