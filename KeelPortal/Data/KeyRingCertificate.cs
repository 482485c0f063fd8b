using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace KeelPortal.Data;

/// <summary>
/// The certificate that encrypts the Data Protection key ring at rest (<see cref="DataOptions.KeysCertificatePath"/>).
/// A file that cannot be read, or a certificate without an RSA private key, stops start-up with the reason.
/// </summary>
public static class KeyRingCertificate
{
    /// <summary>SHA-256 of the certificate's public key (SubjectPublicKeyInfo): the same across renewals with one key pair.</summary>
    public static string PublicKeyId(X509Certificate2 certificate) =>
        Convert.ToHexStringLower(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()));

    public static X509Certificate2? Load(DataOptions options, string contentRoot, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(options.KeysCertificatePath))
        {
            return null;
        }
        var path = Path.GetFullPath(Path.Combine(contentRoot, options.KeysCertificatePath));
        X509Certificate2? certificate = null;
        try
        {
            certificate = Path.GetExtension(path).ToLowerInvariant() is ".pfx" or ".p12"
                ? X509CertificateLoader.LoadPkcs12FromFile(path, options.KeysCertificatePassword, X509KeyStorageFlags.EphemeralKeySet)
                : X509Certificate2.CreateFromPemFile(path);
            using var rsa = certificate.GetRSAPrivateKey();
            if (rsa is null)
            {
                error = $"Data:KeysCertificatePath: the certificate in '{path}' has no RSA private key; the key ring needs one to encrypt and decrypt its keys";
                certificate.Dispose();
                return null;
            }
            return certificate;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            certificate?.Dispose();
            error = $"Data:KeysCertificatePath: cannot read a certificate with its private key from '{path}': {e.Message}";
            return null;
        }
    }
}

/// <summary>Reports an unusable key-ring certificate at start-up, with every other settings problem.</summary>
public sealed class KeyRingCertificateValidation(IHostEnvironment environment) : IValidateOptions<DataOptions>
{
    public ValidateOptionsResult Validate(string? name, DataOptions options)
    {
        using var certificate = KeyRingCertificate.Load(options, environment.ContentRootPath, out var error);
        return error is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(error);
    }
}
