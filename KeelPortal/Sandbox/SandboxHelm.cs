using System.Diagnostics;
using KeelPortal.Sandbox.Cluster;

namespace KeelPortal.Sandbox;

/// <summary>
/// The sample Helm release <c>shop/docs</c>: with a <c>helm</c> binary at hand (<c>Helm:BinaryPath</c>, the PATH, or the
/// repository's <c>.tools/helm</c>), a real <c>helm install</c> of a small chart whose values carry Keel's block, and the
/// portal manages it as any release; without one, only the release record, which <c>helm list</c> shows.
/// </summary>
public static class SandboxHelm
{
    public const string Repository = "team/docs";

    private const string ChartYaml = """
        apiVersion: v2
        name: docs
        description: The sandbox's sample chart; its values carry Keel's block
        version: 0.3.0
        appVersion: "1.0.0"
        """;

    private const string ValuesYaml = """
        image:
          repository: registry.invalid/team/docs
          tag: "1.0.0"
        keel:
          policy: minor
          trigger: poll
          pollSchedule: "@every 20s"
          approvals: 1
          images:
            - repository: image.repository
              tag: image.tag
        """;

    private const string DeploymentYaml = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}
          labels:
            app: {{ .Release.Name }}
        spec:
          replicas: 1
          selector:
            matchLabels:
              app: {{ .Release.Name }}
          template:
            metadata:
              labels:
                app: {{ .Release.Name }}
            spec:
              containers:
                - name: app
                  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        """;

    /// <summary>The helm binary to use, or null: <paramref name="configured"/> if it exists, else <c>helm</c> on the PATH, else the repository's <c>.tools/helm/helm</c>.</summary>
    public static string? FindBinary(string? configured, string contentRoot)
    {
        if (configured is { Length: > 0 } && configured != "helm" && File.Exists(configured))
        {
            return configured;
        }
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "helm")).FirstOrDefault(File.Exists);
        var tools = Path.Combine(contentRoot, ".tools", "helm", "helm");
        return onPath ?? (File.Exists(tools) ? tools : null);
    }

    /// <summary>Writes the chart under <paramref name="folder"/><c>/charts/docs</c> and installs it; the error when it could not.</summary>
    public static string? Install(string helm, KubeApiServer cluster, string folder, string registryHost)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var chart = Path.Combine(folder, "charts", "docs");
        Directory.CreateDirectory(Path.Combine(chart, "templates"));
        File.WriteAllText(Path.Combine(chart, "Chart.yaml"), ChartYaml);
        File.WriteAllText(Path.Combine(chart, "values.yaml"), ValuesYaml);
        File.WriteAllText(Path.Combine(chart, "templates", "deployment.yaml"), DeploymentYaml);
        var home = Path.Combine(folder, "helm-home");
        Directory.CreateDirectory(home);
        var start = new ProcessStartInfo(helm) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "install", "docs", chart, "-n", "shop", "--kubeconfig", cluster.WriteKubeconfig(folder, "sandbox"),
            "--set-string", $"image.repository={registryHost}/{Repository}", "--set-string", "image.tag=1.0.0" })
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["HOME"] = home;
        start.Environment["HELM_CACHE_HOME"] = Path.Combine(home, "cache");
        start.Environment["HELM_CONFIG_HOME"] = Path.Combine(home, "config");
        start.Environment["HELM_DATA_HOME"] = Path.Combine(home, "data");
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            return "helm install did not finish within 60 s";
        }
        return process.ExitCode == 0 ? null : $"helm install failed: {error.Result.Trim()}";
    }
}
