using System.Diagnostics;

namespace KeelPortal.Tests.Startup;

/// <summary>The built portal as an operator starts it: a separate process reading environment variables.</summary>
public sealed class ProcessStartupTests
{
    [Fact]
    public async Task A_misconfigured_portal_exits_with_code_2_and_names_the_key()
    {
        var dataDir = Directory.CreateTempSubdirectory("keelportal-proc-").FullName;
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "KeelPortal.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dataDir,
            Environment =
            {
                ["Jobs__WorkerCount"] = "0",
                ["Jobs__StoragePath"] = Path.Combine(dataDir, "hangfire.db"),
                ["Data__ConnectionString"] = $"Data Source={Path.Combine(dataDir, "portal.db")}",
                ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
                ["ASPNETCORE_CONTENTROOT"] = dataDir,
            },
        };
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("Jobs:WorkerCount must be between 1 and 100", await stdout + await stderr, StringComparison.Ordinal);
    }
}
