using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.Options;

namespace KeelPortal.Data;

/// <summary>
/// Encrypts each Data Protection key at rest with the key-ring certificate: the key's XML is sealed with AES-256-GCM
/// under a fresh key, and that key is wrapped with the certificate's RSA key (OAEP, SHA-256). Only someone holding the
/// certificate's private key can read the key ring, and so the secrets stored in the database.
/// </summary>
public sealed class CertificateKeyEncryptor(X509Certificate2 certificate) : IXmlEncryptor
{
    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        var plain = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var key = RandomNumberGenerator.GetBytes(32);
        var nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
        var cipher = new byte[plain.Length];
        var tag = new byte[AesGcm.TagByteSizes.MaxSize];
        try
        {
            using (var aes = new AesGcm(key, tag.Length))
            {
                aes.Encrypt(nonce, plain, cipher, tag);
            }
            using var rsa = certificate.GetRSAPublicKey() ?? throw new CryptographicException("the key-ring certificate has no RSA key");
            var element = new XElement("certificateEncryptedKey",
                new XAttribute("publicKey", KeyRingCertificate.PublicKeyId(certificate)),
                new XElement("wrappedKey", Convert.ToBase64String(rsa.Encrypt(key, RSAEncryptionPadding.OaepSHA256))),
                new XElement("nonce", Convert.ToBase64String(nonce)),
                new XElement("tag", Convert.ToBase64String(tag)),
                new XElement("data", Convert.ToBase64String(cipher)));
            return new EncryptedXmlInfo(element, typeof(CertificateKeyDecryptor));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(plain);
        }
    }
}

/// <summary>
/// Reads keys sealed by <see cref="CertificateKeyEncryptor"/> with the certificate configured now. Keys are matched by
/// public key, so a certificate renewed with the same key pair still reads them.
/// </summary>
public sealed class CertificateKeyDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var options = services.GetRequiredService<IOptions<DataOptions>>().Value;
        var keyId = (string?)encryptedElement.Attribute("publicKey") ?? "";
        using var certificate = KeyRingCertificate.Load(options, services.GetRequiredService<IHostEnvironment>().ContentRootPath, out var error)
            ?? throw new CryptographicException(error ?? $"this key was encrypted with a certificate (public key {keyId}); set Data:KeysCertificatePath to it");
        if (!string.Equals(KeyRingCertificate.PublicKeyId(certificate), keyId, StringComparison.Ordinal))
        {
            throw new CryptographicException($"this key was encrypted with public key {keyId}, but the certificate in Data:KeysCertificatePath has {KeyRingCertificate.PublicKeyId(certificate)}");
        }
        using var rsa = certificate.GetRSAPrivateKey()!;
        var key = rsa.Decrypt(Read(encryptedElement, "wrappedKey"), RSAEncryptionPadding.OaepSHA256);
        var cipher = Read(encryptedElement, "data");
        var tag = Read(encryptedElement, "tag");
        var plain = new byte[cipher.Length];
        try
        {
            using (var aes = new AesGcm(key, tag.Length))
            {
                aes.Decrypt(Read(encryptedElement, "nonce"), cipher, tag, plain);
            }
            return XElement.Parse(Encoding.UTF8.GetString(plain));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    private static byte[] Read(XElement element, string name) =>
        Convert.FromBase64String((string?)element.Element(name) ?? throw new CryptographicException($"the encrypted key has no {name}"));
}
