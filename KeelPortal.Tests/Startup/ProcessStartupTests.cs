using System.Diagnostics;

namespace KeelPortal.Tests.Startup;

/// <summary>The built portal as an operator starts it: a separate process reading environment variables.</summary>
public sealed class ProcessStartupTests
{
    [Fact]
    public async Task A_misconfigured_portal_exits_with_code_2_and_names_the_key()
    {
        var (exitCode, output) = await RunMisconfiguredAsync(new Dictionary<string, string>());

        Assert.Equal(2, exitCode);
        Assert.Contains("Jobs:WorkerCount must be between 1 and 100", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_portal_compiles_its_code_optimized_from_the_first_call()
    {
        // The runtime's own JIT summary (a release-runtime switch) names the tier each method was compiled at: with
        // tiered compilation off (KeelPortal.csproj) nothing is compiled at a tier — no unoptimized tier 0 to start on,
        // no later tier 1 — only once, optimized (or, for a debug build's own code, as the debugger needs it).
        var summary = Path.Combine(Directory.CreateTempSubdirectory("keelportal-jit-").FullName, "jit.txt");
        var (exitCode, _) = await RunMisconfiguredAsync(new Dictionary<string, string>
        {
            ["DOTNET_JitDisasmSummary"] = "1",
            ["DOTNET_JitStdOutFile"] = summary,
        });

        Assert.Equal(2, exitCode);
        var compiled = File.ReadLines(summary).Where(l => l.Contains("JIT compiled ", StringComparison.Ordinal)).ToList();
        Assert.True(compiled.Count(l => l.Contains("[FullOpts", StringComparison.Ordinal)) > 100, $"{compiled.Count} methods compiled");
        Assert.Contains(compiled, l => l.Contains("JIT compiled KeelPortal.", StringComparison.Ordinal));
        Assert.DoesNotContain(compiled, l => l.Contains("Tier0", StringComparison.Ordinal) || l.Contains("Tier1", StringComparison.Ordinal));
    }

    [Fact]
    public void The_portal_runs_the_concurrent_workstation_garbage_collector()
    {
        // A web project gets the server collector unless told otherwise; the portal's memory target rests on this
        // (bench/README.md: "Garbage collector").
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "KeelPortal.runtimeconfig.json")))!;
        var properties = config["runtimeOptions"]!["configProperties"]!;

        Assert.False(properties["System.GC.Server"]!.GetValue<bool>());
        Assert.True(properties["System.GC.Concurrent"]!.GetValue<bool>());
    }

    private static async Task<(int ExitCode, string Output)> RunMisconfiguredAsync(Dictionary<string, string> environment)
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
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
