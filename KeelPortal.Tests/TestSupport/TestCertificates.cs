using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace KeelPortal.Tests.TestSupport;

/// <summary>A throwaway certificate authority and a loopback server certificate it signed, written as PEM files.</summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string folder)
    {
        Folder = folder;
    }

    public string Folder { get; }
    public string CaPath => Path.Combine(Folder, "ca.pem");
    public string CertificatePath => Path.Combine(Folder, "server.pem");
    public string KeyPath => Path.Combine(Folder, "server-key.pem");

    public static TestCertificates Create()
    {
        var folder = Directory.CreateTempSubdirectory("keelportal-tls-").FullName;
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=KeelPortal test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var server = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(16));

        var certificates = new TestCertificates(folder);
        File.WriteAllText(certificates.CaPath, ca.ExportCertificatePem());
        File.WriteAllText(certificates.CertificatePath, server.ExportCertificatePem());
        File.WriteAllText(certificates.KeyPath, serverKey.ExportPkcs8PrivateKeyPem());
        return certificates;
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
