using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using KeelPortal.Sandbox.Cluster;

namespace KeelPortal.Sandbox;

/// <summary>A sample repository: where it is deployed and how its versions go.</summary>
public sealed record SandboxRepository(string Name, IReadOnlyList<string> Seeded, Func<string, string> Next);

/// <summary>A message a sample channel received, as the portal posted it.</summary>
public sealed record SandboxMessage(string Channel, DateTime ReceivedAtUtc, JsonObject Body);

/// <summary>
/// What the sandbox runs beside the portal, on loopback only: the Kubernetes API server (every rollout finishes, but a
/// version whose tag ends in <c>-broken</c> fails its rollout, as a crashing image would), the OCI registry with the
/// sample repositories, and the sample channels' inbox. The portal connects to them as to real ones.
/// </summary>
public sealed partial class SandboxWorld : IAsyncDisposable
{
    public const string BrokenSuffix = "-broken";

    private readonly WebApplication inbox;
    private readonly ConcurrentQueue<SandboxMessage> messages = new();

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
    ];

    public static async Task<SandboxWorld> StartAsync(TimeProvider time, ILogger logger)
    {
        var cluster = await KubeApiServer.StartAsync(time);
        cluster.AutoRollout = true;
        cluster.RolloutFails = o => o["spec"]?["template"]?["spec"]?["containers"]?.AsArray()
            .Any(c => c?["image"]?.GetValue<string>().EndsWith(BrokenSuffix, StringComparison.Ordinal) == true) == true;
        var registry = await SandboxRegistry.StartAsync(time, logger);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var world = new SandboxWorld(cluster, registry, app, Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)));
        app.MapPost("/inbox/{channel}", async (string channel, HttpRequest request) =>
        {
            if (await System.Text.Json.JsonSerializer.DeserializeAsync<JsonObject>(request.Body) is { } body && world.messages.Count < 500)
            {
                world.messages.Enqueue(new SandboxMessage(channel, time.GetUtcNow().UtcDateTime, body));
            }
            return Results.Ok();
        });
        await app.StartAsync();
        world.InboxUrl = KubeApiServer.ListeningAddress(app);
        return world;
    }

    /// <summary>The next version of <paramref name="repository"/> after its newest tag; <paramref name="broken"/> one whose rollout fails.</summary>
    public string NextVersion(SandboxRepository repository, bool broken = false)
    {
        ArgumentNullException.ThrowIfNull(repository);
        var newest = Registry.Tags(repository.Name).Where(t => !t.EndsWith(BrokenSuffix, StringComparison.Ordinal)).LastOrDefault() ?? repository.Seeded[^1];
        var next = repository.Next(newest);
        return broken ? next + BrokenSuffix : next;
    }

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
