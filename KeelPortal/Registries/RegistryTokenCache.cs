using System.Collections.Concurrent;

namespace KeelPortal.Registries;

/// <summary>
/// Bearer tokens per token service, scope and user, kept until they expire (<c>expires_in</c>, 60 s when absent)
/// minus a margin, so a steady poll costs one request, not a 401, a token request and a retry.
/// </summary>
internal sealed class RegistryTokenCache(TimeProvider time)
{
    private static readonly TimeSpan DefaultLifetime = TimeSpan.FromSeconds(60);
    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Expires)> tokens = new(StringComparer.Ordinal);

    public static string Key(string realm, string? service, string scope, RegistryCredential? credential) =>
        string.Join('\n', realm, service, scope, credential?.Username);

    public string? Get(string key) =>
        tokens.TryGetValue(key, out var entry) && entry.Expires > time.GetUtcNow() ? entry.Token : null;

    public void Put(string key, string token, int? expiresInSeconds)
    {
        var lifetime = expiresInSeconds is > 0 ? TimeSpan.FromSeconds(expiresInSeconds.Value) : DefaultLifetime;
        // Renew a little early: a tenth of the lifetime, at most 30 s, so a token never expires in flight.
        var margin = TimeSpan.FromTicks(Math.Min(lifetime.Ticks / 10, TimeSpan.FromSeconds(30).Ticks));
        tokens[key] = (token, time.GetUtcNow() + lifetime - margin);
    }

    public void Forget(string key) => tokens.TryRemove(key, out _);
}
