using System.Text.Json.Nodes;
using k8s;

namespace KeelPortal.Helm;

/// <summary>
/// A kubeconfig that gives Helm the portal's own connection (server, CA, token or client certificate), written as JSON
/// (which YAML readers accept) to a file only the portal's user can read; the token never appears on a command line.
/// </summary>
public static class HelmKubeconfig
{
    public static async Task<string> WriteAsync(KubernetesClientConfiguration config, string folder, CancellationToken ct)
    {
        var cluster = new JsonObject { ["server"] = config.Host };
        if (config.SkipTlsVerify)
        {
            cluster["insecure-skip-tls-verify"] = true;
        }
        else if (config.SslCaCerts is { Count: > 0 } authorities)
        {
            var pem = string.Concat(authorities.Select(c => c.ExportCertificatePem() + "\n"));
            cluster["certificate-authority-data"] = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(pem));
        }
        var user = new JsonObject();
        var token = config.AccessToken;
        if (string.IsNullOrEmpty(token) && config.TokenProvider is { } provider)
        {
            token = (await provider.GetAuthenticationHeaderAsync(ct).ConfigureAwait(false)).Parameter;
        }
        if (!string.IsNullOrEmpty(token))
        {
            user["token"] = token;
        }
        if (!string.IsNullOrEmpty(config.ClientCertificateData) && !string.IsNullOrEmpty(config.ClientCertificateKeyData))
        {
            user["client-certificate-data"] = config.ClientCertificateData;
            user["client-key-data"] = config.ClientCertificateKeyData;
        }
        else if (!string.IsNullOrEmpty(config.ClientCertificateFilePath) && !string.IsNullOrEmpty(config.ClientKeyFilePath))
        {
            user["client-certificate"] = config.ClientCertificateFilePath;
            user["client-key"] = config.ClientKeyFilePath;
        }
        if (!string.IsNullOrEmpty(config.Username))
        {
            user["username"] = config.Username;
            user["password"] = config.Password;
        }
        var document = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Config",
            ["clusters"] = new JsonArray(new JsonObject { ["name"] = "portal", ["cluster"] = cluster }),
            ["users"] = new JsonArray(new JsonObject { ["name"] = "portal", ["user"] = user }),
            ["contexts"] = new JsonArray(new JsonObject
            {
                ["name"] = "portal", ["context"] = new JsonObject { ["cluster"] = "portal", ["user"] = "portal" },
            }),
            ["current-context"] = "portal",
        };
        var path = Path.Combine(folder, "kubeconfig");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        await using var file = new FileStream(path, options);
        await file.WriteAsync(System.Text.Encoding.UTF8.GetBytes(document.ToJsonString()), ct).ConfigureAwait(false);
        return path;
    }
}
