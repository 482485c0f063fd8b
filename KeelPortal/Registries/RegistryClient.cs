using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Authentication;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace KeelPortal.Registries;

/// <summary>
/// The OCI Distribution client: per-registry pipelines (limits, retries, TLS), the Bearer and Basic flows with
/// cached tokens, and typed failures. Nothing here throws into a caller except cancellation.
/// </summary>
public sealed partial class RegistryClient(IOptions<RegistriesOptions> options, TimeProvider time, Telemetry.PortalMetrics metrics, ILogger<RegistryClient> logger)
    : IRegistryClient, IDisposable
{
    private readonly ConcurrentDictionary<string, RegistryEndpoint> endpoints = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, AuthChallenge> challenges = new(StringComparer.OrdinalIgnoreCase);
    private readonly RegistryTokenCache tokens = new(time);

    /// <summary>What the portal has seen of each registry it talked to.</summary>
    public IReadOnlyList<RegistryStatus> Statuses => endpoints.Values.Select(e => e.Status).ToList();

    public RegistryStatus? StatusOf(string registry) => endpoints.TryGetValue(registry, out var e) ? e.Status : null;

    public void Dispose()
    {
        foreach (var endpoint in endpoints.Values)
        {
            endpoint.Dispose();
        }
    }

    private RegistryEndpoint Endpoint(string host) =>
        endpoints.GetOrAdd(host, h => new RegistryEndpoint(h, options.Value.For(h), options.Value, time, metrics));

    /// <summary>
    /// Sends one API request, answering the registry's challenge once: a cached or new Bearer token for the
    /// repository's pull scope, or Basic credentials.
    /// </summary>
    /// <summary>One request to a registry; its outcome feeds the registry's health (last success, last error, failures in a row).</summary>
    private async Task<RegistryResult<HttpResponseMessage>> SendAsync(
        ImageReference image, HttpMethod method, string path, string? accept, RegistryCredential? credential, CancellationToken ct)
    {
        var result = await SendOnceAsync(image, method, path, accept, credential, ct).ConfigureAwait(false);
        var status = Endpoint(image.Registry).Status;
        var now = time.GetUtcNow();
        switch (result)
        {
            case { Failure: { Kind: RegistryFailureKind.Unreachable or RegistryFailureKind.Timeout or RegistryFailureKind.RateLimited or RegistryFailureKind.ServerError } failure }:
                status.RecordFailure(failure.Reason, now);
                break;
            case { Value: { } response } when (int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests:
                status.RecordFailure($"{image.Registry} answered {(int)response.StatusCode} {response.ReasonPhrase}", now);
                break;
            case { Value: not null }:
                status.RecordSuccess(now);
                break;
        }
        return result;
    }

    private async Task<RegistryResult<HttpResponseMessage>> SendOnceAsync(
        ImageReference image, HttpMethod method, string path, string? accept, RegistryCredential? credential, CancellationToken ct)
    {
        var endpoint = Endpoint(image.Registry);
        var uri = new Uri(endpoint.BaseUri, path);
        var scope = $"repository:{image.Repository}:pull";
        try
        {
            AuthenticationHeaderValue? authorization = null;
            if (challenges.TryGetValue(image.Registry, out var known))
            {
                var answer = await AnswerAsync(known, scope, credential, image, ct).ConfigureAwait(false);
                if (answer.Failure is { } failure)
                {
                    return failure;
                }
                authorization = answer.Value;
            }
            var response = await endpoint.Http.SendAsync(Request(method, uri, accept, authorization), ct).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Unauthorized || AuthChallenge.From(response) is not { } challenge)
            {
                return RegistryResult.Ok(response);
            }
            // First contact, or the token we sent was refused: learn the challenge, get a fresh answer, try once more.
            response.Dispose();
            challenges[image.Registry] = challenge;
            if (challenge.IsBearer)
            {
                tokens.Forget(RegistryTokenCache.Key(challenge.Realm ?? "", challenge.Service, scope, credential));
            }
            var retry = await AnswerAsync(challenge, scope, credential, image, ct).ConfigureAwait(false);
            if (retry.Failure is { } refused)
            {
                return refused;
            }
            return RegistryResult.Ok(await endpoint.Http.SendAsync(Request(method, uri, accept, retry.Value), ct).ConfigureAwait(false));
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && Unreachable(ex, endpoint.Host) is { } failure)
        {
            LogUnreachable(logger, endpoint.Host, failure.Reason);
            return failure;
        }
    }

    private async Task<RegistryResult<AuthenticationHeaderValue>> AnswerAsync(
        AuthChallenge challenge, string scope, RegistryCredential? credential, ImageReference image, CancellationToken ct)
    {
        if (!challenge.IsBearer)
        {
            return credential is null
                ? new RegistryFailure(RegistryFailureKind.AuthenticationFailed,
                    $"{image.Registry} requires a user name and password for {image.Repository}, and none was found (add an imagePullSecret or store credentials for {image.Registry} in the portal)")
                : RegistryResult.Ok(Basic(credential));
        }
        if (challenge.Realm is null || !Uri.TryCreate(challenge.Realm, UriKind.Absolute, out var realm))
        {
            return new RegistryFailure(RegistryFailureKind.InvalidResponse, $"{image.Registry} asked for a Bearer token without a valid realm");
        }
        var key = RegistryTokenCache.Key(challenge.Realm, challenge.Service, scope, credential);
        if (tokens.Get(key) is { } cached)
        {
            return RegistryResult.Ok(new AuthenticationHeaderValue("Bearer", cached));
        }
        var query = $"scope={Uri.EscapeDataString(scope)}" + (challenge.Service is null ? "" : $"&service={Uri.EscapeDataString(challenge.Service)}");
        var tokenUri = new UriBuilder(realm) { Query = string.IsNullOrEmpty(realm.Query) ? query : realm.Query.TrimStart('?') + "&" + query }.Uri;
        var endpoint = Endpoint(realm.Authority);
        using var response = await endpoint.Http.SendAsync(Request(HttpMethod.Get, tokenUri, "application/json", credential is null ? null : Basic(credential)), ct).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            return new RegistryFailure(RegistryFailureKind.AuthenticationFailed, credential is null
                ? $"{image.Registry} requires credentials for {image.Repository}, and none were found"
                : $"authentication failed for user {credential.Username} at {image.Registry} ({credential.Source}): the token service answered {(int)response.StatusCode}");
        }
        if (!response.IsSuccessStatusCode)
        {
            return Failure(response, image, "token", credential);
        }
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
        var root = json.RootElement;
        var token = root.TryGetProperty("token", out var t) && t.GetString() is { Length: > 0 } tokenValue ? tokenValue
            : root.TryGetProperty("access_token", out var a) ? a.GetString() : null;
        if (string.IsNullOrEmpty(token))
        {
            return new RegistryFailure(RegistryFailureKind.InvalidResponse, $"the token service of {image.Registry} sent no token");
        }
        int? expiresIn = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : null;
        tokens.Put(key, token, expiresIn);
        return RegistryResult.Ok(new AuthenticationHeaderValue("Bearer", token));
    }

    private static HttpRequestMessage Request(HttpMethod method, Uri uri, string? accept, AuthenticationHeaderValue? authorization)
    {
        var request = new HttpRequestMessage(method, uri);
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }
        request.Headers.Authorization = authorization;
        return request;
    }

    private static AuthenticationHeaderValue Basic(RegistryCredential credential) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.Username}:{credential.Password}")));

    private static RegistryFailure? Unreachable(Exception ex, string host) => ex switch
    {
        HttpRequestException { InnerException: AuthenticationException tls } =>
            new(RegistryFailureKind.Tls, $"TLS with {host} failed: {tls.Message} (set a CA bundle, or skip verification for this registry)"),
        HttpRequestException http => new(RegistryFailureKind.Unreachable, $"{host} is unreachable: {http.Message}"),
        TimeoutRejectedException or TaskCanceledException => new(RegistryFailureKind.Timeout, $"{host} did not answer in time"),
        _ => null,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Registry {Host} failed: {Reason}")]
    private static partial void LogUnreachable(ILogger logger, string host, string reason);
}
