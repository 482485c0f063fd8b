using System.Security.Cryptography;
using KeelPortal.Access;
using KeelPortal.Delivery;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace KeelPortal.Sandbox;

/// <summary>A version pushed to a sample repository.</summary>
public sealed record SandboxPush(string Repository, string Tag, bool Broken);

/// <summary>Pushes new versions to the sample repositories (announced to the portal as the registry's push notifications).</summary>
public sealed class SandboxPusher(SandboxWorld world)
{
    /// <summary>The repositories a push without a name picks from: those whose workloads show an update happening.</summary>
    private static readonly string[] Lively = ["team/storefront", "team/checkout", "team/edge", "team/worker", "team/web"];

    public async Task<SandboxPush?> PushAsync(string? repository, bool broken, CancellationToken ct)
    {
        var name = string.IsNullOrWhiteSpace(repository) ? Lively[RandomNumberGenerator.GetInt32(Lively.Length)] : repository.Trim();
        if (SandboxWorld.Repositories.FirstOrDefault(r => r.Name == name) is not { } sample)
        {
            return null;
        }
        var tag = world.NextVersion(sample);
        if (broken)
        {
            world.Break(sample.Name, tag);
        }
        await world.Registry.PushAsync(sample.Name, tag, multiArch: sample.Name == "team/storefront", ct: ct);
        return new SandboxPush(sample.Name, tag, broken);
    }
}

/// <summary>
/// Once the portal listens: the registry announces pushes to it, the sample accounts and change window are made and the
/// passwords printed once, each sample repository gets its next version (so things happen at once), and a new version
/// appears every <see cref="SandboxOptions.PushEvery"/>. On stop, the sandbox's servers stop.
/// </summary>
public sealed partial class SandboxLife(
    SandboxWorld world, SandboxAccounts accounts, SandboxPusher pusher, IServiceScopeFactory scopes, IServer server, IHostApplicationLifetime lifetime,
    IOptions<SandboxOptions> options, Data.EventHub events, Workloads.WorkloadWatcher watcher, TimeProvider time, ILogger<SandboxLife> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        world.Received = events.Publish;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken);
        }
        var portal = Components.StartupBanner.Browsable(server.Features.Get<IServerAddressesFeature>()!.Addresses.First());
        world.Registry.Notify = (new Uri(new Uri(portal.TrimEnd('/') + "/"), "v1/webhooks/registry"), world.WebhookSecret);
        await PrepareAsync(stoppingToken);
        Console.WriteLine(Welcome(portal));
        // New versions arrive once the portal knows the workloads, so each is taken the way its workload says.
        await watcher.FirstSnapshot.WaitAsync(TimeSpan.FromSeconds(60), time, stoppingToken);
        foreach (var sample in SandboxWorld.Repositories.Where(r => r.Seeded.Count > 1))
        {
            await world.Registry.PushAsync(sample.Name, sample.Seeded[1], multiArch: sample.Name == "team/storefront", ct: stoppingToken);
        }
        using var timer = new PeriodicTimer(options.Value.PushEvery, time);
        for (var tick = 1; await timer.WaitForNextTickAsync(stoppingToken); tick++)
        {
            // Every fourth new version is one of shop/web's that fails its rollout, so its automatic rollback is seen too.
            if (await (tick % 4 == 0 ? pusher.PushAsync("team/web", true, stoppingToken) : pusher.PushAsync(null, false, stoppingToken)) is { } pushed)
            {
                LogPushed(pushed.Repository, pushed.Tag);
            }
        }
    }

    private async Task PrepareAsync(CancellationToken ct)
    {
        using var scope = scopes.CreateScope();
        var people = scope.ServiceProvider.GetRequiredService<AccountService>();
        foreach (var (name, password, role) in new[] { ("alice", accounts.Alice, Roles.Approver), ("bob", accounts.Bob, Roles.Approver), ("viewer", accounts.Viewer, Roles.Viewer) })
        {
            var made = await people.CreateAsync(name, password, role, "sandbox");
            if (!made.Succeeded)
            {
                LogNotMade(name, made.Error ?? "");
            }
        }
        var window = await scope.ServiceProvider.GetRequiredService<DeliverySchedule>()
            .SaveWindowAsync(new WindowInput(SandboxSamples.WindowName, "Mon-Sun", "00:00-24:00", "UTC", "named"), "sandbox", ct);
        if (window.Outcome is DeliveryOutcome.Invalid or DeliveryOutcome.NotFound)
        {
            LogNotMade(SandboxSamples.WindowName, window.Message);
        }
    }

    private string Welcome(string portal) => $"""

        ── KeelPortal sandbox ─────────────────────────────────────────────────────────────
        Everything runs in this process, on loopback: a Kubernetes API server ({world.Cluster.Url}), an OCI registry
        ({world.Registry.Host}) and two sample chat channels. Its data lives in {options.Value.DataPath} and is reset at every start.
        Sign in at {portal} — these passwords are shown once:
          admin   {accounts.Admin}   (Admin)
          alice   {accounts.Alice}   (Approver)
          bob     {accounts.Bob}   (Approver)
          viewer  {accounts.Viewer}   (Viewer)
        Try: open Approvals, approve shop/storefront as alice and as bob, watch it roll out, then the Sandbox page's messages.
        {(accounts.HelmProblem is null ? "The Helm release shop/docs is managed through helm." : $"The Helm release sample is only listed: {accounts.HelmProblem}.")}
        kubectl --server {world.Cluster.Url} --insecure-skip-tls-verify get deployments -A
        ───────────────────────────────────────────────────────────────────────────────────
        """;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await world.DisposeAsync();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox: pushed {Repository}:{Tag}")]
    private partial void LogPushed(string repository, string tag);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sandbox: {Name} was not made: {Why}")]
    private partial void LogNotMade(string name, string why);
}
