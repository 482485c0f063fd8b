using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using KeelPortal.Registries;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Data;

/// <summary>The key ring encrypted at rest with a certificate: unreadable without it, readable by the next start with it.</summary>
[Collection(AppHosts.Name)]
public sealed class KeyRingCertificateTests : IDisposable
{
    private const string Secret = "registry-password-5f2a";
    private const string PfxPassword = "pfx-pass";
    private readonly string folder = Directory.CreateTempSubdirectory("keelportal-keyring-").FullName;

    private static CredentialStore Store(PortalFactory portal) => portal.Services.GetRequiredService<CredentialStore>();

    private string Certificate(string name, bool withPrivateKey = true)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest($"CN=KeelPortal key ring {name}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        var path = Path.Combine(folder, withPrivateKey ? $"{name}.pfx" : $"{name}.pem");
        if (withPrivateKey)
        {
            File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, PfxPassword));
        }
        else
        {
            File.WriteAllText(path, certificate.ExportCertificatePem());
        }
        return path;
    }

    private PortalFactory Portal(string keys, string? certificate) => new PortalFactory()
        .With("Data:ConnectionString", $"Data Source={Path.Combine(folder, "portal.db")}")
        .With("Data:KeysPath", keys)
        .With("Data:KeysCertificatePath", certificate)
        .With("Data:KeysCertificatePassword", PfxPassword);

    [Fact]
    public async Task Keys_are_encrypted_with_the_certificate_and_the_next_start_reads_the_secrets_only_with_it()
    {
        var keys = Path.Combine(folder, "keys");
        var certificate = Certificate("current");
        await using (var first = Portal(keys, certificate))
        {
            Assert.True((await Store(first).SaveAsync("registry.example.com", "ci", Secret, "root")).Succeeded);
        }
        var keyFile = await File.ReadAllTextAsync(Directory.GetFiles(keys, "key-*.xml").Single());

        await using var withCertificate = Portal(keys, certificate);
        var read = await Store(withCertificate).ReadAllAsync();
        await using var without = Portal(keys, null);
        var unreadable = await Store(without).ReadAllAsync();
        await using var otherCertificate = Portal(keys, Certificate("other"));
        var wrongKey = await Store(otherCertificate).ReadAllAsync();

        Assert.Contains("<certificateEncryptedKey", keyFile, StringComparison.Ordinal);
        Assert.DoesNotContain("<masterKey", keyFile, StringComparison.Ordinal);
        Assert.Equal(Secret, read["registry.example.com"].Password);
        Assert.Empty(unreadable);
        Assert.Empty(wrongKey);
        Assert.Contains(otherCertificate.Logs.Lines, l => l.Message.Contains("stored credential for registry.example.com cannot be decrypted", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_certificate_without_a_private_key_stops_startup_with_the_reason()
    {
        await using var portal = Portal(Path.Combine(folder, "keys"), Certificate("public-only", withPrivateKey: false));

        Assert.ThrowsAny<InvalidOperationException>(() => portal.CreateClient());

        Assert.Contains(portal.Logs.Lines, l => l.Message.Contains("Data:KeysCertificatePath:", StringComparison.Ordinal)
            && l.Message.Contains("private key", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }
}
