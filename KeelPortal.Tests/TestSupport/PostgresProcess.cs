using System.Diagnostics;
using Npgsql;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// A throwaway PostgreSQL 15 cluster (Debian's binaries): <c>initdb</c> into a temporary folder, served on a Unix socket
/// in that folder only (no TCP port to collide on), run as an unprivileged user when the tests run as root (PostgreSQL
/// refuses root), and removed on dispose. Each test takes its own database with <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class PostgresProcess : IAsyncDisposable
{
    /// <summary>
    /// Runs the command (the server) and, five times a second, looks whether the test process (the first argument)
    /// still runs; when it does not — it ended before its exit handlers could stop the server, or while they were at it —
    /// the server gets a fast shutdown and its folder (the second argument) is removed. The server has this shell as the
    /// parent whose death sends it SIGINT (<c>setpriv --pdeathsig</c>), so killing the shell stops it too.
    /// </summary>
    private const string WatchdogScript = """
        parent=$1; folder=$2; shift 2
        "$@" & server=$!
        while kill -0 "$parent" 2>/dev/null; do sleep 0.2; done
        kill -INT "$server" 2>/dev/null
        wait "$server"
        rm -rf "$folder"
        """;

    private readonly Process server;
    private readonly string folder;

    private PostgresProcess(Process server, string folder)
    {
        this.server = server;
        this.folder = folder;
    }

    private string Socket => Path.Combine(folder, "socket");

    /// <summary>The cluster's folder (data and socket).</summary>
    public string Folder => folder;

    /// <summary>The watchdog shell the server runs under.</summary>
    public Process Watchdog => server;

    /// <summary>The postmaster's process id, from its pid file.</summary>
    public int? Postmaster
    {
        get
        {
            var pidFile = Path.Combine(folder, "data", "postmaster.pid");
            try
            {
                return int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out var pid) ? pid : null;
            }
            catch (IOException)
            {
                return null;
            }
        }
    }

    /// <summary>Whether the process runs (a zombie, dead but not yet reaped, does not).</summary>
    public static bool Running(int pid)
    {
        try
        {
            return !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Debian's PostgreSQL 15 binaries (or another installed major version).</summary>
    public static string? BinaryFolder() =>
        (Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").Order(StringComparer.Ordinal).Select(d => Path.Combine(d, "bin")) : [])
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "postgres")));

    public static async Task<PostgresProcess> StartAsync()
    {
        var bin = BinaryFolder() ?? throw new InvalidOperationException("PostgreSQL 15 is missing: run ./test.sh (it installs the Debian package postgresql)");
        var folder = Path.Combine(Path.GetTempPath(), "keelportal-pg-" + Guid.NewGuid().ToString("N")[..12]);
        var data = Path.Combine(folder, "data");
        var socket = Path.Combine(folder, "socket");
        Directory.CreateDirectory(data);
        Directory.CreateDirectory(socket);
        var user = Environment.UserName == "root" ? "postgres" : null;
        if (user is not null)
        {
            var chown = await ToolProcess.RunAsync("chown", ["-R", user, folder]);
            Assert.True(chown.ExitCode == 0, chown.Error);
        }
        var init = await ToolProcess.RunAsync(user is null ? Path.Combine(bin, "initdb") : "runuser",
            [.. user is null ? [] : new[] { "-u", user, "--", Path.Combine(bin, "initdb") }, "-D", data, "-U", "keel", "-A", "trust", "-E", "UTF8", "--no-sync"]);
        Assert.True(init.ExitCode == 0, $"initdb failed: {init.Error}");
        // Started under a small watchdog: when this test process is gone without stopping it (a test host ended before
        // its exit handlers ran), the server is shut down too instead of running on.
        var start = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-c", WatchdogScript, "watchdog", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), folder }
            .Concat(user is null
                ? ["setpriv", "--pdeathsig", "INT", "--", Path.Combine(bin, "postgres")]
                : ["setpriv", $"--reuid={user}", $"--regid={user}", "--init-groups", "--pdeathsig", "INT", "--", Path.Combine(bin, "postgres")])
            .Concat(["-D", data, "-k", socket, "-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=400"]))
        {
            start.ArgumentList.Add(arg);
        }
        var server = Process.Start(start)!;
        server.OutputDataReceived += (_, _) => { };
        server.ErrorDataReceived += (_, _) => { };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        var postgres = new PostgresProcess(server, folder);
        await Eventually.TrueAsync(async () =>
        {
            Assert.False(server.HasExited, "postgres exited at start");
            try
            {
                await using var connection = new NpgsqlConnection(postgres.ConnectionString("postgres"));
                await connection.OpenAsync();
                return true;
            }
            catch (NpgsqlException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "PostgreSQL accepts connections");
        return postgres;
    }

    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = Socket, Username = "keel", Database = database, Pooling = true, MaxPoolSize = 50,
    }.ConnectionString;

    /// <summary>A new empty database; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "portal_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        // The postmaster's own process id (the first line of its pid file) gets SIGINT: a fast shutdown that ends every
        // backend. Only then is the watchdog ended and the folder removed.
        if (Postmaster is { } postmaster)
        {
            _ = Signal(postmaster, SigInt);
            await StoppedAsync(postmaster);
        }
        if (!server.HasExited)
        {
            server.Kill(entireProcessTree: false);
            await server.WaitForExitAsync();
        }
        server.Dispose();
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or DirectoryNotFoundException)
        {
            // Already removed by the watchdog, or a file the server still held as it died; the system cleans /tmp.
        }
    }

    private const int SigInt = 2;
    private const int SigKill = 9;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Signal(int pid, int signal);

    /// <summary>Waits (up to 30 s) for the postmaster to be gone (a zombie counts as gone), and kills it if it is not.</summary>
    private static async Task StoppedAsync(int pid)
    {
        try
        {
            await Eventually.TrueAsync(() => !Running(pid), TimeSpan.FromSeconds(30), $"PostgreSQL (process {pid}) stopped");
        }
        catch (TimeoutException)
        {
            _ = Signal(pid, SigKill);
            throw;
        }
    }
}
