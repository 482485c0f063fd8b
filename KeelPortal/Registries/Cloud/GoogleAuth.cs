using System.Text.Json;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Responses;

namespace KeelPortal.Registries.Cloud;

/// <summary>
/// Google Artifact Registry (<c>&lt;region&gt;-docker.pkg.dev</c>) and Container Registry (<c>gcr.io</c>, <c>*.gcr.io</c>),
/// read with Google's application default credentials as its libraries find them: the key file named by
/// <c>GOOGLE_APPLICATION_CREDENTIALS</c> (a service account's key, or an external account for workload identity
/// federation), else the metadata server (GKE workload identity; <c>GCE_METADATA_HOST</c> names another). The access
/// token is used as <c>oauth2accesstoken:&lt;token&gt;</c>.
/// </summary>
public sealed class GoogleAuth(IConfiguration configuration, TimeProvider time) : ICloudRegistryAuth
{
    public const string Scope = "https://www.googleapis.com/auth/cloud-platform";

    private (GoogleCredential Credential, string Source, string? File)? kept;
    private readonly Lock gate = new();

    public static bool IsGoogleHost(string host) =>
        host.Equals("gcr.io", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".gcr.io", StringComparison.OrdinalIgnoreCase)
        || host.EndsWith("-docker.pkg.dev", StringComparison.OrdinalIgnoreCase);

    public bool Serves(string host) => IsGoogleHost(host);

    public async Task<CloudAnswer> IssueAsync(string host, CancellationToken ct)
    {
        GoogleCredential credential;
        string source;
        try
        {
            (credential, source) = Credential();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or JsonException or ArgumentException)
        {
            return CloudAnswer.Failed($"the key file {configuration["GOOGLE_APPLICATION_CREDENTIALS"]}", $"the key file cannot be used: {e.Message}");
        }
        try
        {
            var token = await ((ITokenAccess)credential).GetAccessTokenForRequestAsync(null, ct);
            var expires = (credential.UnderlyingCredential as ServiceCredential)?.Token is { } issued && issued.ExpiresInSeconds is { } seconds
                ? new DateTimeOffset(DateTime.SpecifyKind(issued.IssuedUtc, DateTimeKind.Utc)).AddSeconds(seconds)
                : time.GetUtcNow().AddMinutes(55);
            return new CloudAnswer(new CloudToken(new RegistryCredential("oauth2accesstoken", token, $"Google, with {source}"), expires, source), null, source);
        }
        catch (TokenResponseException e)
        {
            return CloudAnswer.Failed(source, $"Google's token service refused ({e.Error?.Error}: {Audit.LogText.Clean(e.Error?.ErrorDescription ?? e.Message, 200)}); " +
                $"the service account needs roles/artifactregistry.reader (or roles/storage.objectViewer for gcr.io) on {host}'s repositories");
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return CloudAnswer.Failed(source, source.StartsWith("the metadata server", StringComparison.Ordinal)
                ? $"the metadata server gave no token ({e.Message}); on GKE enable workload identity and bind the Kubernetes service account to a Google service account"
                : $"no token: {e.Message}");
        }
    }

    /// <summary>The credential, read again when <c>GOOGLE_APPLICATION_CREDENTIALS</c> names another file.</summary>
    private (GoogleCredential Credential, string Source) Credential()
    {
        var file = configuration["GOOGLE_APPLICATION_CREDENTIALS"] is { Length: > 0 } named ? named.Trim() : null;
        lock (gate)
        {
            if (kept is { } known && known.File == file)
            {
                return (known.Credential, known.Source);
            }
            GoogleCredential credential;
            string source;
            if (file is not null)
            {
                var json = File.ReadAllText(file);
                using var parsed = JsonDocument.Parse(json);
                var type = parsed.RootElement.TryGetProperty("type", out var t) ? t.GetString() : null;
                if (type is not (JsonCredentialParameters.ServiceAccountCredentialType or JsonCredentialParameters.ExternalAccountCredentialType))
                {
                    throw new InvalidOperationException($"its type is '{type}'; use a service account key (service_account) or a workload identity federation file (external_account)");
                }
                credential = CredentialFactory.FromJson(json, type).CreateScoped(Scope);
                source = type == JsonCredentialParameters.ServiceAccountCredentialType
                    ? $"the service account {(parsed.RootElement.TryGetProperty("client_email", out var email) ? email.GetString() : "of the key file")} (GOOGLE_APPLICATION_CREDENTIALS)"
                    : "workload identity federation (GOOGLE_APPLICATION_CREDENTIALS)";
            }
            else
            {
                var host = configuration["GCE_METADATA_HOST"] is { Length: > 0 } metadata ? metadata.Trim() : "metadata.google.internal";
                credential = GoogleCredential.FromComputeCredential(new ComputeCredential(new ComputeCredential.Initializer(
                    $"http://{host}/computeMetadata/v1/instance/service-accounts/default/token")));
                source = "the metadata server (GKE workload identity)";
            }
            kept = (credential, source, file);
            return (credential, source);
        }
    }
}
