using System.Diagnostics;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// A real SMTP server: Debian's aiosmtpd on a free loopback port, requiring STARTTLS (a certificate of
/// <see cref="TestCertificates"/>) and then AUTH with one account; each accepted message is written to a folder as it
/// arrived (<c>.eml</c>).
/// </summary>
public sealed class SmtpProcess : IAsyncDisposable
{
    public const string User = "portal-mailer";
    public const string Password = "smtp-Password-1";

    private const string Script = """
        import asyncio, os, ssl, sys
        from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

        folder, cert, key, user, password = sys.argv[1:6]

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                name = os.path.join(folder, "%04d.eml" % len([f for f in os.listdir(folder) if f.endswith(".eml")]))
                with open(name + ".part", "wb") as f:
                    f.write(envelope.original_content or envelope.content)
                os.rename(name + ".part", name)
                return "250 Message accepted for delivery"

        def authenticate(server, session, envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and data.login.decode() == user and data.password.decode() == password
            return AuthResult(success=ok, handled=False)

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)

        async def main():
            loop = asyncio.get_running_loop()
            server = await loop.create_server(lambda: SMTP(Handler(), hostname="localhost", tls_context=context, require_starttls=True,
                authenticator=authenticate, auth_required=True, auth_require_tls=True), "127.0.0.1", 0)
            print(server.sockets[0].getsockname()[1], flush=True)
            await server.serve_forever()

        asyncio.run(main())
        """;

    private readonly Process process;

    private SmtpProcess(Process process, string folder, int port, TestCertificates certificates) =>
        (this.process, Folder, Port, Certificates) = (process, folder, port, certificates);

    public string Folder { get; }
    public int Port { get; }
    public TestCertificates Certificates { get; }

    /// <summary>The channel target that reaches this server with its account over STARTTLS.</summary>
    public string Target(string to = "team@example.com", string? password = null) =>
        $"smtp://{User}:{Uri.EscapeDataString(password ?? Password)}@127.0.0.1:{Port}/?from=portal@example.com&to={to}&encryption=starttls";

    public static async Task<SmtpProcess> StartAsync()
    {
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : RegistryProcess.Which("python3")
            ?? throw new InvalidOperationException("python3 is not installed: run ./test.sh");
        if (RegistryProcess.Which("aiosmtpd") is null)
        {
            throw new InvalidOperationException("aiosmtpd is not installed: run ./test.sh (it installs the Debian package python3-aiosmtpd)");
        }
        var certificates = TestCertificates.Create();
        var folder = Directory.CreateTempSubdirectory("keelportal-smtp-").FullName;
        var script = Path.Combine(folder, "server.py");
        await File.WriteAllTextAsync(script, Script);
        var mail = Directory.CreateDirectory(Path.Combine(folder, "mail")).FullName;
        var start = new ProcessStartInfo(python, [script, mail, certificates.CertificatePath, certificates.KeyPath, User, Password])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        if (!int.TryParse(line, out var port))
        {
            var error = await process.StandardError.ReadToEndAsync(timeout.Token);
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"the SMTP server did not start: {line} {error}");
        }
        _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
        return new SmtpProcess(process, mail, port, certificates);
    }

    /// <summary>The messages received so far, oldest first, as MimeKit reads them.</summary>
    public IReadOnlyList<MimeKit.MimeMessage> Messages() =>
        [.. Directory.GetFiles(Folder, "*.eml").Order(StringComparer.Ordinal).Select(f => MimeKit.MimeMessage.Load(f))];

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
        Certificates.Dispose();
        try
        {
            Directory.Delete(Path.GetDirectoryName(Folder)!, recursive: true);
        }
        catch (IOException)
        {
            // Left for the system's temporary folder cleanup.
        }
    }
}
