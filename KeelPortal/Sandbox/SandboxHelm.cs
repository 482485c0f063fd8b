using KeelPortal.Helm;
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

    /// <summary>The helm binary to use, or null: <paramref name="configured"/> (a path, or a name on the PATH), else <c>helm</c> on the PATH, else the repository's <c>.tools/helm/helm</c>.</summary>
    public static string? FindBinary(string? configured, string contentRoot)
    {
        var tools = Path.Combine(contentRoot, ".tools", "helm", "helm");
        return (configured is { Length: > 0 } ? HelmProcess.Find(configured) : null) ?? HelmProcess.Find("helm") ?? (File.Exists(tools) ? tools : null);
    }

    /// <summary>Writes the chart under <paramref name="folder"/><c>/charts/docs</c> and installs it; the error when it could not.</summary>
    public static async Task<string?> InstallAsync(string helm, KubeApiServer cluster, string folder, string registryHost)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var chart = Path.Combine(folder, "charts", "docs");
        Directory.CreateDirectory(Path.Combine(chart, "templates"));
        await File.WriteAllTextAsync(Path.Combine(chart, "Chart.yaml"), ChartYaml);
        await File.WriteAllTextAsync(Path.Combine(chart, "values.yaml"), ValuesYaml);
        await File.WriteAllTextAsync(Path.Combine(chart, "templates", "deployment.yaml"), DeploymentYaml);
        var home = Path.Combine(folder, "helm-home");
        Directory.CreateDirectory(home);
        var (code, output) = await HelmProcess.RunAsync(helm,
            ["install", "docs", chart, "-n", "shop", "--kubeconfig", cluster.WriteKubeconfig(folder, "sandbox"),
                "--set-string", $"image.repository={registryHost}/{Repository}", "--set-string", "image.tag=1.0.0"],
            home, null, TimeSpan.FromSeconds(60), CancellationToken.None);
        return code == 0 ? null : output is null ? "helm install did not finish within 60 s" : $"helm install failed: {output.Trim()}";
    }
}
