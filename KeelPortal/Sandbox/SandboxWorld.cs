using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using KeelPortal.Registries;
using KeelPortal.Sandbox.Cluster;

namespace KeelPortal.Sandbox;

/// <summary>A sample repository: where it is deployed and how its versions go.</summary>
public sealed record SandboxRepository(string Name, IReadOnlyList<string> Seeded, Func<string, string> Next);

/// <summary>A message a sample channel received, as the portal posted it.</summary>
public sealed record SandboxMessage(string Channel, DateTime ReceivedAtUtc, JsonObject Body);

/// <summary>
/// What the sandbox runs beside the portal, on loopback only: the Kubernetes API server (every rollout finishes, but one
/// of a version pushed as broken fails, as a crashing image would), the OCI registry with the sample repositories, and
/// the sample channels' inbox. The portal connects to them as to real ones.
/// </summary>
public sealed partial class SandboxWorld : IAsyncDisposable
{
    private readonly WebApplication inbox;
    private readonly ConcurrentQueue<SandboxMessage> messages = new();
    private readonly ConcurrentDictionary<string, bool> broken = new(StringComparer.Ordinal);

    private SandboxWorld(KubeApiServer cluster, SandboxRegistry registry, WebApplication inbox, string webhookSecret)
    {
        Cluster = cluster;
        Registry = registry;
        this.inbox = inbox;
        WebhookSecret = webhookSecret;
    }

    public KubeApiServer Cluster { get; }

    public SandboxRegistry Registry { get; }

    public string WebhookSecret { get; }

    public string InboxUrl { get; private set; } = "";

    public IReadOnlyList<SandboxMessage> Messages => messages.ToArray();

    /// <summary>Called with each message a sample channel receives (the sandbox page hears of it).</summary>
    public Action<SandboxMessage>? Received { get; set; }

    /// <summary>The sample repositories (under the registry's host), their first versions and the next version pushed.</summary>
    public static IReadOnlyList<SandboxRepository> Repositories { get; } =
    [
        new("team/storefront", ["1.0.0", "1.1.0"], Minor),
        new("team/checkout", ["2.3.0"], Patch),
        new("team/ledger", ["3.0.0", "4.0.0"], Major),
        new("team/gateway", ["latest"], _ => "latest"),
        new("team/reports", ["release-2026.11", "release-2026.12"], v => "release-" + DateTime.UtcNow.ToString("yyyy.MM.dd-HHmmss", System.Globalization.CultureInfo.InvariantCulture)),
        new("team/worker", ["build-41", "build-42"], v => $"build-{int.Parse(v.Split('-')[1], System.Globalization.CultureInfo.InvariantCulture) + 1}"),
        new("team/edge", ["1.4.0", "1.5.0"], Minor),
        new("team/web", ["1.0.0"], Patch),
        new(SandboxHelm.Repository, ["1.0.0", "1.1.0"], Minor),
    ];

    public static async Task<SandboxWorld> StartAsync(TimeProvider time, ILogger logger)
    {
        var cluster = await KubeApiServer.StartAsync(time);
        cluster.AutoRollout = true;
        var registry = await SandboxRegistry.StartAsync(time, logger);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var world = new SandboxWorld(cluster, registry, app, Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)));
        cluster.Rolled = (kind, ns, name, workload, succeeded) => SandboxSamples.FollowPods(cluster, kind, ns, name, workload, succeeded, world.ImageId);
        cluster.RolloutFails = o => o["spec"]?["template"]?["spec"]?["containers"]?.AsArray()
            .Any(c => c?["image"]?.GetValue<string>() is { } image && world.broken.ContainsKey(image)) == true;
        app.MapPost("/inbox/{channel}", async (string channel, HttpRequest request) =>
        {
            if (await System.Text.Json.JsonSerializer.DeserializeAsync<JsonObject>(request.Body) is { } body && world.messages.Count < 500)
            {
                var message = new SandboxMessage(channel, time.GetUtcNow().UtcDateTime, body);
                world.messages.Enqueue(message);
                world.Received?.Invoke(message);
            }
            return Results.Ok();
        });
        await app.StartAsync();
        world.InboxUrl = KubeApiServer.ListeningAddress(app);
        return world;
    }

    /// <summary>The next version of <paramref name="repository"/> after its newest tag.</summary>
    public string NextVersion(SandboxRepository repository)
    {
        ArgumentNullException.ThrowIfNull(repository);
        var tags = Registry.Tags(repository.Name);
        return repository.Next(tags.Count > 0 ? tags[^1] : repository.Seeded[^1]);
    }

    /// <summary>What a kubelet reports as a container's image id: <c>host/repository@digest</c> of the image as the registry has it now.</summary>
    public string ImageId(string image)
    {
        var reference = ImageReference.Parse(image);
        var digest = reference.Registry == Registry.Host ? Registry.DigestOf(reference.Repository, reference.TagOrLatest) : null;
        return $"{reference.Name}@{digest ?? "sha256:" + new string('0', 64)}";
    }

    /// <summary>From now on, a rollout to <paramref name="repository"/>:<paramref name="tag"/> fails.</summary>
    public void Break(string repository, string tag) => broken[$"{Registry.Host}/{repository}:{tag}"] = true;

    private static string Minor(string v) => Bump(v, 1);

    private static string Patch(string v) => Bump(v, 2);

    private static string Major(string v) => Bump(v, 0);

    private static string Bump(string version, int part)
    {
        var numbers = version.Split('-')[0].Split('.').Select(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        numbers[part]++;
        for (var i = part + 1; i < numbers.Length; i++)
        {
            numbers[i] = 0;
        }
        return string.Join('.', numbers);
    }

    public async ValueTask DisposeAsync()
    {
        await inbox.DisposeAsync();
        await Registry.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}
