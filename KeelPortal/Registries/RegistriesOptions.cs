using System.ComponentModel.DataAnnotations;

namespace KeelPortal.Registries;

public sealed class RegistriesOptions
{
    public const string Section = "Registries";

    /// <summary>Settings that apply to every registry without an entry in <see cref="Hosts"/>.</summary>
    [Required]
    public RegistrySettings Defaults { get; set; } = new();

    /// <summary>
    /// Per-registry settings keyed by registry host as images name it (<c>docker.io</c>). A host with a port cannot be a
    /// key (':' separates configuration keys): list it in <see cref="List"/> instead.
    /// </summary>
    public Dictionary<string, RegistrySettings> Hosts { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Per-registry settings as a list whose entries name their host, so any host can be configured, one with a port
    /// included: <c>Registries:List:0:Host=127.0.0.1:5000</c>, <c>Registries__List__0__PlainHttp=true</c>.
    /// </summary>
    public List<RegistryHostSettings> List { get; set; } = [];

    /// <summary>A 429 whose Retry-After is longer than this is reported as rate-limited instead of waited out.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Registries:MaxRetryAfterWait must be between 00:00:00 and 00:10:00.")]
    public TimeSpan MaxRetryAfterWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries after 5xx answers, timeouts and short 429s, with exponential backoff and jitter.</summary>
    [Range(0, 10, ErrorMessage = "Registries:MaxRetries must be between 0 and 10.")]
    public int MaxRetries { get; set; } = 3;

    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00", ErrorMessage = "Registries:RetryBaseDelay must be between 00:00:00.001 and 00:01:00.")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Registry credentials for every workload, as a Docker config JSON (<c>{"auths": {"host": {"auth": "…"}}}</c>; Keel's
    /// <c>DOCKER_REGISTRY_CFG</c>): asked after the workload's own pull secrets, before stored credentials. A secret.
    /// </summary>
    public string? DockerConfig { get; set; }

    /// <summary>The credentials in <see cref="DockerConfig"/> by registry host (empty when unset), or why it cannot be read.</summary>
    public (IReadOnlyDictionary<string, RegistryCredential> Credentials, string? Error) DockerConfigCredentials() =>
        string.IsNullOrWhiteSpace(DockerConfig)
            ? (new Dictionary<string, RegistryCredential>(), null)
            : PullSecrets.Read("Registries:DockerConfig", PullSecrets.DockerConfigJson,
                new Dictionary<string, byte[]> { [".dockerconfigjson"] = System.Text.Encoding.UTF8.GetBytes(DockerConfig) });

    /// <summary>Amazon ECR through the AWS default credential chain.</summary>
    public Cloud.AwsRegistryOptions Aws { get; set; } = new();

    /// <summary>Azure Container Registry through Azure.Identity.</summary>
    public Cloud.AzureRegistryOptions Azure { get; set; } = new();

    public RegistrySettings For(string registry) =>
        List.LastOrDefault(e => string.Equals(e.Host is null ? null : ImageReference.CanonicalHost(e.Host.Trim()), ImageReference.CanonicalHost(registry), StringComparison.Ordinal))
        ?? Hosts.GetValueOrDefault(registry) ?? Defaults;
}

public sealed class RegistryHostSettings : RegistrySettings
{
    /// <summary>The registry host as images name it, with its port when it has one (<c>registry.example.com:5000</c>).</summary>
    [Required(AllowEmptyStrings = false)]
    public string? Host { get; set; }
}

public class RegistrySettings
{
    /// <summary>Speak plain HTTP. Unset: plain HTTP for loopback hosts only, HTTPS everywhere else.</summary>
    public bool? PlainHttp { get; set; }

    /// <summary>Accept any TLS certificate. Only for registries on a trusted network.</summary>
    public bool SkipTlsVerify { get; set; }

    /// <summary>PEM file of CA certificates that sign the registry's certificate.</summary>
    public string? CaBundlePath { get; set; }

    /// <summary>A pull-through mirror that serves this registry's API instead of its own host.</summary>
    public string? Mirror { get; set; }

    [Range(1, 256)]
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>Request budget: at most this many requests a minute to this registry.</summary>
    [Range(1, 1_000_000)]
    public int RequestsPerMinute { get; set; } = 1200;

    /// <summary>How long one attempt may take before it is abandoned and retried.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>Every <c>Registries:List</c> entry names a registry host, once.</summary>
public sealed class RegistryListValidation : Microsoft.Extensions.Options.IValidateOptions<RegistriesOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, RegistriesOptions options)
    {
        var errors = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.List.Count; i++)
        {
            var host = options.List[i].Host?.Trim();
            if (string.IsNullOrEmpty(host) || !ImageReference.IsHost(host))
            {
                errors.Add($"Registries:List:{i}:Host: '{host}' is not a registry host (such as registry.example.com or 127.0.0.1:5000)");
            }
            else if (!seen.Add(ImageReference.CanonicalHost(host)))
            {
                errors.Add($"Registries:List:{i}:Host: {host} is listed twice");
            }
        }
        if (options.DockerConfigCredentials().Error is { } dockerConfig)
        {
            errors.Add(dockerConfig.Replace("secret Registries:DockerConfig", "Registries:DockerConfig (Keel's DOCKER_REGISTRY_CFG)", StringComparison.Ordinal));
        }
        return errors.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(errors);
    }
}
