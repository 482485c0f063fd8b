using KeelPortal.Registries;
using KeelPortal.Workloads;

namespace KeelPortal.Updates;

/// <summary>
/// The registry credential for a workload's image, in <see cref="CredentialLookup"/>'s documented order: the
/// workload's pull secrets read from the cluster (the <c>keel.sh/imagePullSecret</c> one first), then
/// <c>Registries:DockerConfig</c>, then credentials stored in the portal, then the cloud's own credentials for its registries.
/// </summary>
public sealed partial class CredentialResolver(
    ClusterConnection cluster, CredentialStore stored, Registries.Cloud.CloudCredentials cloud, Microsoft.Extensions.Options.IOptions<RegistriesOptions> options,
    ILogger<CredentialResolver> logger)
{
    private readonly Lazy<IReadOnlyDictionary<string, RegistryCredential>> dockerConfig = new(() => options.Value.DockerConfigCredentials().Credentials);

    public async Task<RegistryCredential?> ForAsync(WorkloadSnapshot workload, ImageReference image, CancellationToken ct)
    {
        var secrets = new List<IReadOnlyDictionary<string, RegistryCredential>>();
        if (cluster.Client is { } client)
        {
            foreach (var name in workload.PullSecrets)
            {
                try
                {
                    var secret = await client.GetSecretAsync(workload.Namespace, name, ct);
                    if (secret is null)
                    {
                        LogSecretMissing(workload.Id, name);
                        continue;
                    }
                    var data = (secret.Data ?? new Dictionary<string, byte[]>()).ToDictionary(kv => kv.Key, kv => kv.Value);
                    var (credentials, error) = PullSecrets.Read(name, secret.Type, data);
                    if (error is not null)
                    {
                        LogSecretUnusable(workload.Id, error);
                    }
                    secrets.Add(credentials);
                }
                catch (KubernetesApiException e)
                {
                    LogSecretUnreadable(workload.Id, name, e.Status, e.Message);
                }
            }
        }
        secrets.Add(dockerConfig.Value);
        // Then the Docker config given to every workload (Keel's DOCKER_REGISTRY_CFG), the stored credentials and, last, the cloud the portal runs in, for that cloud's registries (ECR through the AWS chain, …).
        return CredentialLookup.Find(image, secrets, await stored.ReadAllAsync(ct)) ?? await cloud.ForAsync(image.Registry, ct);
    }

    /// <summary>A registry's refusal, with what failed when the portal asked its cloud for credentials for it.</summary>
    public string Explain(ImageReference image, RegistryFailure failure)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(failure);
        return failure.Kind == RegistryFailureKind.AuthenticationFailed && cloud.ProblemOf(image.Registry) is { } problem
            ? $"{failure.Reason}; the cloud's credentials for {image.Registry} failed: {problem}"
            : failure.Reason;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Workload} names pull secret {Secret}, which does not exist")]
    private partial void LogSecretMissing(string workload, string secret);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A pull secret of {Workload} cannot be used: {Reason}")]
    private partial void LogSecretUnusable(string workload, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pull secret {Secret} of {Workload} cannot be read ({Status}): {Reason}")]
    private partial void LogSecretUnreadable(string workload, string secret, int status, string reason);
}
