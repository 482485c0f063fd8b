using System.Diagnostics;
using System.Net;

namespace KeelPortal.Tests.TestSupport;

public enum RegistryAuth { Anonymous, Htpasswd, Token }

/// <summary>
/// Debian's docker-registry (Distribution 2.8) on a free loopback port with its own storage folder, in one of three
/// authentication modes. The test command installs it; a machine without it fails these tests, never skips them.
/// </summary>
public sealed partial class RegistryProcess : IAsyncDisposable
{
    [System.Text.RegularExpressions.GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial System.Text.RegularExpressions.Regex ListeningLine();

    public const string User = "keel";
    public const string Password = "s3cret-pass";

    private readonly Process process;
    private readonly string folder;
    private readonly TestCertificates? tls;

    private RegistryProcess(Process process, string folder, int port, RegistryAuth auth, TokenServer? tokens, TestCertificates? tls)
    {
        this.tls = tls;
        this.process = process;
        this.folder = folder;
        Port = port;
        Auth = auth;
        Tokens = tokens;
    }

    public int Port { get; }

    /// <summary>Every line the registry logs (at info level: one "response completed" line per request it served).</summary>
    public event Action<string>? LogLine;
    public RegistryAuth Auth { get; }
    public TokenServer? Tokens { get; }

    /// <summary>The registry host as image references name it.</summary>
    public string Host => $"127.0.0.1:{Port}";

    public Uri BaseUri => new($"{(tls is null ? "http" : "https")}://{Host}/");

    /// <summary>
    /// Starts the registry; with <paramref name="tls"/> it serves HTTPS with that server certificate, with
    /// <paramref name="notify"/> it posts push notifications to that URL with that bearer token.
    /// </summary>
    /// <param name="auth">How clients sign in.</param>
    /// <param name="tls">Serve HTTPS with these certificates.</param>
    /// <param name="notify">Post push notifications there, with this bearer token.</param>
    /// <param name="users">With <see cref="RegistryAuth.Htpasswd"/>: further accounts besides <see cref="User"/> (such as the one a cloud's token service issues).</param>
    public static async Task<RegistryProcess> StartAsync(RegistryAuth auth, TestCertificates? tls = null, (Uri Url, string Token)? notify = null,
        IReadOnlyList<(string User, string Password)>? users = null)
    {
        var binary = Which("docker-registry")
            ?? throw new InvalidOperationException("docker-registry is not installed: run ./test.sh (it installs the Debian package docker-registry)");
        var folder = Directory.CreateTempSubdirectory("keelportal-registry-").FullName;
        var tokens = auth == RegistryAuth.Token ? await TokenServer.StartAsync(User, Password) : null;
        var config = Path.Combine(folder, "config.yml");
        // Port 0: the registry binds a free port itself and logs it ("listening on 127.0.0.1:N"), so no other process
        // can take the port between choosing and binding it.
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: info
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {Path.Combine(folder, "storage")}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:0
            {TlsSection(tls)}
            {NotificationsSection(notify)}
            {await AuthSection(auth, folder, tokens, users ?? [])}
            """);
        var start = new ProcessStartInfo(binary, ["serve", config]) { RedirectStandardError = true, RedirectStandardOutput = true };
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start };
        RegistryProcess? registry = null;
        void Read(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is not { } line)
            {
                return;
            }
            if (ListeningLine().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            }
            registry?.LogLine?.Invoke(line);
        }
        process.ErrorDataReceived += Read;
        process.OutputDataReceived += Read;
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("docker-registry exited before it listened"));
        process.EnableRaisingEvents = true;
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
        registry = new RegistryProcess(process, folder, port, auth, tokens, tls);
        await registry.WaitUntilServingAsync();
        return registry;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
        if (Tokens is not null)
        {
            await Tokens.DisposeAsync();
        }
        Directory.Delete(folder, recursive: true);
    }

    private async Task WaitUntilServingAsync()
    {
        using var http = new HttpClient(TrustingHandler());
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"docker-registry exited with code {process.ExitCode}");
            }
            try
            {
                var response = await http.GetAsync(new Uri(BaseUri, "v2/"));
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("docker-registry did not start serving within 30 s");
    }

    /// <summary>A handler for test clients (pushing, probing) that trusts this registry's test certificate.</summary>
    public HttpMessageHandler TrustingHandler()
    {
        var handler = new HttpClientHandler();
        if (tls is not null)
        {
            var ca = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            ca.ImportFromPemFile(tls.CaPath);
            handler.ServerCertificateCustomValidationCallback = (_, certificate, chain, _) =>
            {
                chain!.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(ca);
                return certificate is not null && chain.Build(certificate);
            };
        }
        return handler;
    }

    private static string NotificationsSection((Uri Url, string Token)? notify) => notify is not { } n
        ? ""
        : $"notifications:\n  endpoints:\n    - name: keelportal\n      url: {n.Url}\n      headers:\n        Authorization: [\"Bearer {n.Token}\"]\n      timeout: 5s\n      threshold: 3\n      backoff: 1s";

    private static string TlsSection(TestCertificates? tls) => tls is null
        ? ""
        : $"  tls:\n    certificate: {tls.CertificatePath}\n    key: {tls.KeyPath}";

    private static async Task<string> AuthSection(RegistryAuth auth, string folder, TokenServer? tokens, IReadOnlyList<(string User, string Password)> users)
    {
        switch (auth)
        {
            case RegistryAuth.Htpasswd:
                var file = Path.Combine(folder, "htpasswd");
                var lines = new List<string> { (await Htpasswd(User, Password)).TrimEnd('\n') };
                foreach (var (user, password) in users)
                {
                    lines.Add((await Htpasswd(user, password)).TrimEnd('\n'));
                }
                await File.WriteAllTextAsync(file, string.Join('\n', lines) + "\n");
                return $"auth:\n  htpasswd:\n    realm: keelportal-test\n    path: {file}";
            case RegistryAuth.Token:
                var bundle = Path.Combine(folder, "token.pem");
                await File.WriteAllTextAsync(bundle, tokens!.CertificatePem);
                return $"auth:\n  token:\n    realm: {tokens.Realm}\n    service: {TokenServer.Service}\n    issuer: {TokenServer.Issuer}\n    rootcertbundle: {bundle}";
            default:
                return "";
        }
    }

    /// <summary>A bcrypt entry from Apache's htpasswd (the registry accepts only bcrypt).</summary>
    private static async Task<string> Htpasswd(string user, string password)
    {
        var binary = Which("htpasswd")
            ?? throw new InvalidOperationException("htpasswd is not installed: run ./test.sh (it installs the Debian package apache2-utils)");
        using var process = Process.Start(new ProcessStartInfo(binary, ["-Bbn", user, password]) { RedirectStandardOutput = true })!;
        var line = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return line.Trim() + "\n";
    }

    internal static string? Which(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(dir => Path.Combine(dir, command)).FirstOrDefault(File.Exists);
}
