namespace KeelPortal.Registries;

/// <summary>
/// Picks the credential for an image, in a fixed, documented order:
/// 1. the secret named by <c>keel.sh/imagePullSecret</c>;
/// 2. the pod's <c>imagePullSecrets</c>, in the order the pod lists them;
/// 3. credentials an administrator stored in the portal for that registry;
/// 4. none (anonymous).
/// The first source with an entry for the image's registry host wins.
/// </summary>
public static class CredentialLookup
{
    public static RegistryCredential? Find(
        ImageReference image,
        IEnumerable<IReadOnlyDictionary<string, RegistryCredential>> secretsInOrder,
        IReadOnlyDictionary<string, RegistryCredential>? stored = null)
    {
        foreach (var secret in secretsInOrder)
        {
            if (secret.TryGetValue(image.Registry, out var credential))
            {
                return credential;
            }
        }
        return stored is not null && stored.TryGetValue(image.Registry, out var fromPortal) ? fromPortal : null;
    }
}
