using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Microsoft.Extensions.Options;

namespace KeelPortal.Registries.Cloud;

/// <summary><c>Registries:Azure</c>: what Azure's own settings cannot say.</summary>
public sealed class AzureRegistryOptions
{
    /// <summary>Where a registry's <c>/oauth2/exchange</c> is asked (a private endpoint); unset: <c>https://&lt;registry&gt;/oauth2/exchange</c>.</summary>
    public Uri? ExchangeEndpoint { get; set; }
}

/// <summary>
/// Azure Container Registry (<c>*.azurecr.io</c>): an Entra ID token from <c>Azure.Identity</c> — workload identity
/// (<c>AZURE_FEDERATED_TOKEN_FILE</c> with <c>AZURE_CLIENT_ID</c> and <c>AZURE_TENANT_ID</c>, as AKS sets them), a client
/// secret (<c>AZURE_CLIENT_SECRET</c>), else the managed identity — exchanged at the registry's <c>/oauth2/exchange</c> for
/// a refresh token, which the registry's own token flow takes as the password of the null user.
/// </summary>
public sealed class AcrAuth(IConfiguration configuration, IOptions<RegistriesOptions> options, IHttpClientFactory http, TimeProvider time) : ICloudRegistryAuth
{
    public const string NullUser = "00000000-0000-0000-0000-000000000000";
    public const string Scope = "https://management.azure.com/.default";

    /// <summary>ACR's refresh tokens last three hours.</summary>
    public static readonly TimeSpan RefreshTokenLifetime = TimeSpan.FromHours(3);

    private (TokenCredential Credential, string Source)? kept;

    public static bool IsAcrHost(string host) =>
        host.EndsWith(".azurecr.io", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".azurecr.cn", StringComparison.OrdinalIgnoreCase)
        || host.EndsWith(".azurecr.us", StringComparison.OrdinalIgnoreCase);

    public bool Serves(string host) => IsAcrHost(host);

    public async Task<CloudAnswer> IssueAsync(string host, CancellationToken ct)
    {
        var (credential, source) = kept ??= Credential();
        AccessToken entra;
        try
        {
            entra = await credential.GetTokenAsync(new TokenRequestContext([Scope]), ct);
        }
        catch (AuthenticationFailedException e)
        {
            return CloudAnswer.Failed(source, $"Entra ID gave no token ({Audit.LogText.Clean(e.Message, 300)}); check the client id, tenant and the federated credential " +
                "that trusts this service account");
        }
        var exchange = options.Value.Azure.ExchangeEndpoint ?? new Uri($"https://{host}/oauth2/exchange");
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "access_token",
            ["service"] = host,
            ["tenant"] = configuration["AZURE_TENANT_ID"] ?? "",
            ["access_token"] = entra.Token,
        });
        try
        {
            using var response = await http.CreateClient(nameof(AcrAuth)).PostAsync(exchange, form, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                return CloudAnswer.Failed(source, $"{host} refused the token exchange ({(int)response.StatusCode}: {Audit.LogText.Clean(text, 200)}); " +
                    $"grant the identity the AcrPull role on {host}");
            }
            using var json = JsonDocument.Parse(text);
            var refresh = json.RootElement.GetProperty("refresh_token").GetString()!;
            var expires = time.GetUtcNow().Add(RefreshTokenLifetime);
            return new CloudAnswer(new CloudToken(new RegistryCredential(NullUser, refresh, $"ACR, with {source}"), expires, source), null, source);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return CloudAnswer.Failed(source, $"{host}'s token exchange gave no usable answer: {e.Message}");
        }
    }

    /// <summary>Azure.Identity's choice as AKS and its documentation set it up, over the portal's own HTTP client.</summary>
    private (TokenCredential, string) Credential()
    {
        string? Setting(string name) => configuration[name] is { Length: > 0 } value ? value.Trim() : null;
        var transport = new HttpClientTransport(http.CreateClient("azure-identity"));
        var authority = Setting("AZURE_AUTHORITY_HOST") is { } host ? new Uri(host) : AzureAuthorityHosts.AzurePublicCloud;
        var (tenant, client) = (Setting("AZURE_TENANT_ID"), Setting("AZURE_CLIENT_ID"));
        if (Setting("AZURE_FEDERATED_TOKEN_FILE") is { } file && tenant is not null && client is not null)
        {
            return (new WorkloadIdentityCredential(new WorkloadIdentityCredentialOptions
            {
                TenantId = tenant, ClientId = client, TokenFilePath = file, AuthorityHost = authority, Transport = transport,
                DisableInstanceDiscovery = Setting("AZURE_AUTHORITY_HOST") is not null,
            }), $"workload identity as {client}");
        }
        if (Setting("AZURE_CLIENT_SECRET") is { } secret && tenant is not null && client is not null)
        {
            return (new ClientSecretCredential(tenant, client, secret, new ClientSecretCredentialOptions
            {
                AuthorityHost = authority, Transport = transport, DisableInstanceDiscovery = Setting("AZURE_AUTHORITY_HOST") is not null,
            }), $"the client secret of {client} (AZURE_CLIENT_SECRET)");
        }
        return (new ManagedIdentityCredential(new ManagedIdentityCredentialOptions(client is null ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(client))
        {
            Transport = transport,
        }), client is null ? "the managed identity" : $"the managed identity {client}");
    }
}
