using System.Diagnostics;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// The real <c>helm</c> 3 binary the tests drive: <c>.tools/helm/helm</c> (installed by test.sh), else <c>helm</c> on PATH.
/// A missing binary fails the test with what to do.
/// </summary>
public static class HelmTool
{
    public static string Path { get; } = Find();

    public static string Chart(string name) => System.IO.Path.Combine(RepoPaths.Root, "KeelPortal.Tests", "Helm", "charts", name);

    /// <summary>Runs helm with <paramref name="kubeconfig"/>; throws with helm's output when it fails.</summary>
    public static async Task<string> RunAsync(string kubeconfig, params string[] args)
    {
        var (code, output, error) = await RunRawAsync(kubeconfig, null, args);
        return code == 0 ? output : throw new InvalidOperationException($"helm {string.Join(' ', args)} failed ({code}): {error}{output}");
    }

    public static async Task<(int ExitCode, string Output, string Error)> RunRawAsync(
        string kubeconfig, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var home = Directory.CreateTempSubdirectory("keelportal-helm-home-").FullName;
        try
        {
            var start = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add("--kubeconfig");
            start.ArgumentList.Add(kubeconfig);
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }
            start.Environment["HOME"] = home;
            start.Environment["HELM_CACHE_HOME"] = System.IO.Path.Combine(home, "cache");
            start.Environment["HELM_CONFIG_HOME"] = System.IO.Path.Combine(home, "config");
            start.Environment["HELM_DATA_HOME"] = System.IO.Path.Combine(home, "data");
            foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            {
                start.Environment[key] = value;
            }
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await output, await error);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private static string Find()
    {
        var local = System.IO.Path.Combine(RepoPaths.Root, ".tools", "helm", "helm");
        if (File.Exists(local))
        {
            return local;
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = System.IO.Path.Combine(dir, "helm");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException("helm is not installed: run ./test.sh, which installs helm 3.17.1 into .tools/helm");
    }
}
