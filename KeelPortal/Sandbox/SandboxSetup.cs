using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using KeelPortal.Access;
using Microsoft.Extensions.Options;

namespace KeelPortal.Sandbox;

public sealed class SandboxOptions
{
    public const string Section = "Sandbox";

    /// <summary>Runs the portal in the sandbox (<c>dotnet run -- --sandbox</c>): an in-process cluster and registry, on loopback only.</summary>
    public bool Enabled { get; set; }

    /// <summary>The sandbox's own data folder (relative to the content root), emptied at every start.</summary>
    [Required(ErrorMessage = "Sandbox:DataPath is required.")]
    public string DataPath { get; set; } = "data/sandbox";

    /// <summary>How often a new version appears in one of the sample repositories on its own.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00", ErrorMessage = "Sandbox:PushEvery must be between 00:00:10 and 1.00:00:00.")]
    public TimeSpan PushEvery { get; set; } = TimeSpan.FromMinutes(3);
}

public static class SandboxSetup
{
    public const string Flag = "--sandbox";

    /// <summary>
    /// With <see cref="Flag"/> or <c>Sandbox:Enabled</c>: starts the sandbox's cluster, registry and channel inbox and points
    /// the portal at them as at real ones (its own data folder, a webhook secret, the sample channels). Never beside a
    /// real cluster: then start-up stops with the reason.
    /// </summary>
    public static WebApplicationBuilder AddSandbox(this WebApplicationBuilder builder, bool flag)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (flag)
        {
            builder.Configuration.AddInMemoryCollection([new("Sandbox:Enabled", "true")]);
        }
        builder.Services.AddOptions<SandboxOptions>().BindConfiguration(SandboxOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var options = builder.Configuration.GetSection(SandboxOptions.Section).Get<SandboxOptions>() ?? new SandboxOptions();
        if (!options.Enabled)
        {
            return builder;
        }
        if (RealCluster(builder.Configuration) is { } real)
        {
            builder.Services.AddSingleton<IValidateOptions<SandboxOptions>>(new SandboxRefusal($"the sandbox never starts beside a real cluster, and {real}", "Remove one or the other"));
            return builder;
        }
        var folder = Path.GetFullPath(options.DataPath, builder.Environment.ContentRootPath);
        if (!TryEmpty(folder))
        {
            // Emptied at every start: only a folder the sandbox made (or an empty one), never someone's data.
            builder.Services.AddSingleton<IValidateOptions<SandboxOptions>>(new SandboxRefusal(
                $"Sandbox:DataPath ({folder}) holds files the sandbox did not write", "Choose an empty folder"));
            return builder;
        }
        var world = SandboxWorld.StartAsync(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).GetAwaiter().GetResult();
        foreach (var repository in SandboxWorld.Repositories)
        {
            world.Registry.PushAsync(repository.Name, repository.Seeded[0], multiArch: repository.Name == "team/storefront", announce: false).GetAwaiter().GetResult();
        }
        SandboxSamples.Seed(world.Cluster, world.Registry.Host, world.ImageId);
        var helmProblem = AddHelmRelease(builder, world, folder);
        var accounts = new SandboxAccounts(Password(), Password(), Password(), Password(), helmProblem);
        builder.Configuration.AddInMemoryCollection(Settings(world, folder, accounts.Admin));
        builder.Services.AddSingleton(world);
        builder.Services.AddSingleton(accounts);
        builder.Services.AddSingleton<SandboxPusher>();
        builder.Services.AddHostedService<SandboxLife>();
        return builder;
    }

    /// <summary>Empties the data folder when the sandbox made it (its marker) or it is empty, and marks it; false when it holds someone else's files.</summary>
    private static bool TryEmpty(string folder)
    {
        var marker = Path.Combine(folder, ".keelportal-sandbox");
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any() && !File.Exists(marker))
        {
            return false;
        }
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
        Directory.CreateDirectory(folder);
        File.WriteAllText(marker, "The KeelPortal sandbox's data: emptied at every start of the sandbox.\n");
        return true;
    }

    /// <summary>Installs the sample Helm release through helm and lets the portal manage it; without helm, only its record (the reason is returned).</summary>
    private static string? AddHelmRelease(WebApplicationBuilder builder, SandboxWorld world, string folder)
    {
        var helm = SandboxHelm.FindBinary(builder.Configuration["Helm:BinaryPath"], builder.Environment.ContentRootPath);
        var problem = helm is null ? "no helm binary was found (Helm:BinaryPath, the PATH, .tools/helm)" : SandboxHelm.InstallAsync(helm, world.Cluster, folder, world.Registry.Host).GetAwaiter().GetResult();
        if (problem is null)
        {
            SandboxSamples.FollowPods(world.Cluster, "Deployment", "shop", "docs", world.Cluster.CompleteRollout("Deployment", "shop", "docs"), true, world.ImageId);
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Helm:Enabled"] = "true", ["Helm:BinaryPath"] = helm, ["Helm:LocalChartFolder"] = Path.Combine(folder, "charts"),
            });
            return null;
        }
        SandboxSamples.SeedHelmRecord(world.Cluster);
        builder.Configuration.AddInMemoryCollection([new("Helm:Enabled", "false")]);
        return problem;
    }

    /// <summary>The portal's settings in the sandbox: its world as the cluster, its own data, the sample channels, the first administrator.</summary>
    private static Dictionary<string, string?> Settings(SandboxWorld world, string folder, string adminPassword) => new()
    {
        ["Workloads:Server"] = world.Cluster.Url,
        ["Data:Provider"] = "SQLite",
        ["Data:ConnectionString"] = $"Data Source={Path.Combine(folder, "portal.db")}",
        ["Jobs:StoragePath"] = Path.Combine(folder, "hangfire.db"),
        ["Data:KeysPath"] = Path.Combine(folder, "keys"),
        ["Triggers:WebhookSecret"] = world.WebhookSecret,
        ["Access:Admin:UserName"] = "admin",
        ["Access:Admin:Password"] = adminPassword,
        ["Notifications:Channels:0:Name"] = "sandbox-slack",
        ["Notifications:Channels:0:Type"] = "Slack",
        ["Notifications:Channels:0:Url"] = world.InboxUrl + "/inbox/sandbox-slack",
        ["Notifications:Channels:1:Name"] = "sandbox-mattermost",
        ["Notifications:Channels:1:Type"] = "Mattermost",
        ["Notifications:Channels:1:Url"] = world.InboxUrl + "/inbox/sandbox-mattermost",
    };

    public static WebApplication MapSandbox(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Services.GetService<SandboxWorld>() is null)
        {
            return app;
        }
        app.MapPost("/sandbox/push", async (SandboxPushRequest? body, SandboxPusher pusher, CancellationToken ct) =>
            await pusher.PushAsync(body?.Repository, body?.Broken ?? false, ct) is { } pushed
                ? Results.Ok(pushed)
                : Results.Problem(statusCode: 404, title: "No such sample repository", detail: $"use one of {string.Join(", ", SandboxWorld.Repositories.Select(r => r.Name))}"))
            .RequireAuthorization(AccessSetup.ApiPolicy).DisableAntiforgery().WithTags("Sandbox");
        return app;
    }

    /// <summary>A real cluster the configuration names (its API server, a kubeconfig, or the pod's own service account), or null.</summary>
    private static string? RealCluster(ConfigurationManager configuration) =>
        configuration["Workloads:Server"] is { Length: > 0 } server ? $"Workloads:Server is set ({server})"
        : configuration["Workloads:Kubeconfig"] is { Length: > 0 } ? "Workloads:Kubeconfig is set"
        : Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST") is { Length: > 0 } ? "the portal runs inside a Kubernetes cluster (KUBERNETES_SERVICE_HOST)"
        : null;

    private static string Password() => "sandbox-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
}

/// <summary><c>POST /sandbox/push</c>: a sample repository (any when empty) and whether the version should fail its rollout.</summary>
public sealed record SandboxPushRequest(string? Repository, bool? Broken);

/// <summary>The sample accounts' passwords, printed once at start.</summary>
public sealed record SandboxAccounts(string Admin, string Alice, string Bob, string Viewer, string? HelmProblem);

/// <summary>Stops start-up when the sandbox is asked for where it must not run (beside a real cluster, over someone's files).</summary>
internal sealed class SandboxRefusal(string why, string advice) : IValidateOptions<SandboxOptions>
{
    public ValidateOptionsResult Validate(string? name, SandboxOptions options) =>
        ValidateOptionsResult.Fail($"Sandbox:Enabled (--sandbox): {why}. {advice}.");
}
