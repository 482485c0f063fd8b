using System.Text;
using System.Text.Json;

namespace KeelPortal.Registries;

/// <summary>
/// Reads Kubernetes image pull secrets (<c>kubernetes.io/dockerconfigjson</c> and the older
/// <c>kubernetes.io/dockercfg</c>) into credentials keyed by registry host.
/// </summary>
public static class PullSecrets
{
    public const string DockerConfigJson = "kubernetes.io/dockerconfigjson";
    public const string DockerCfg = "kubernetes.io/dockercfg";

    /// <summary>The credentials in one secret, or the reason it could not be read (never the secret's content).</summary>
    public static (IReadOnlyDictionary<string, RegistryCredential> Credentials, string? Error) Read(
        string secretName, string? type, IReadOnlyDictionary<string, byte[]> data)
    {
        var (key, wrapped) = type switch
        {
            DockerConfigJson => (".dockerconfigjson", true),
            DockerCfg => (".dockercfg", false),
            _ => ((string?)null, false),
        };
        if (key is null)
        {
            return (Empty, $"secret {secretName} has type '{type}', not {DockerConfigJson} or {DockerCfg}");
        }
        if (!data.TryGetValue(key, out var bytes))
        {
            return (Empty, $"secret {secretName} has no {key} entry");
        }
        try
        {
            using var json = JsonDocument.Parse(bytes);
            var auths = json.RootElement;
            if (wrapped && !auths.TryGetProperty("auths", out auths))
            {
                return (Empty, $"secret {secretName} has no 'auths' object");
            }
            var result = new Dictionary<string, RegistryCredential>(StringComparer.OrdinalIgnoreCase);
            foreach (var entry in auths.EnumerateObject())
            {
                if (Credential(entry.Value, $"secret {secretName}") is { } credential)
                {
                    result.TryAdd(RegistryCredential.NormaliseHost(entry.Name), credential);
                }
            }
            return (result, null);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return (Empty, $"secret {secretName} is not valid docker configuration JSON");
        }
    }

    private static readonly IReadOnlyDictionary<string, RegistryCredential> Empty = new Dictionary<string, RegistryCredential>();

    /// <summary><c>auth</c> (base64 of user:password) wins; else <c>username</c> and <c>password</c>.</summary>
    private static RegistryCredential? Credential(JsonElement entry, string source)
    {
        if (entry.TryGetProperty("auth", out var auth) && auth.GetString() is { Length: > 0 } encoded)
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon > 0 ? new RegistryCredential(decoded[..colon], decoded[(colon + 1)..], source) : null;
        }
        return entry.TryGetProperty("username", out var user) && user.GetString() is { Length: > 0 } name &&
               entry.TryGetProperty("password", out var password) && password.GetString() is { } secret
            ? new RegistryCredential(name, secret, source)
            : null;
    }
}
