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
            var settings = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["HOME"] = home,
                ["HELM_CACHE_HOME"] = System.IO.Path.Combine(home, "cache"),
                ["HELM_CONFIG_HOME"] = System.IO.Path.Combine(home, "config"),
                ["HELM_DATA_HOME"] = System.IO.Path.Combine(home, "data"),
            };
            foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            {
                settings[key] = value;
            }
            return await ToolProcess.RunAsync(Path, ["--kubeconfig", kubeconfig, .. args], settings);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private static string Find()
    {
        var local = System.IO.Path.Combine(RepoPaths.Root, ".tools", "helm", "helm");
        return File.Exists(local) ? local
            : RegistryProcess.Which("helm") ?? throw new InvalidOperationException("helm is not installed: run ./test.sh, which installs helm 3.17.1 into .tools/helm");
    }
}
