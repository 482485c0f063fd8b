using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Hangfire;
using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// The whole pipeline on real parts: a docker-registry process, the Kubernetes API test server, and the portal on a
/// real loopback port (so the registry can send it notifications), with API users alice, bob and carol.
/// </summary>
public sealed class PipelinePortal : IAsyncDisposable
{
    public const string WebhookSecret = "test-webhook-secret";
    /// <summary>The accounts every pipeline has: three approvers and a viewer.</summary>
    public static readonly IReadOnlyDictionary<string, string> Users = new Dictionary<string, string>
    {
        ["alice"] = KeelPortal.Access.Roles.Approver,
        ["bob"] = KeelPortal.Access.Roles.Approver,
        ["carol"] = KeelPortal.Access.Roles.Approver,
        ["victor"] = KeelPortal.Access.Roles.Viewer,
        ["root"] = KeelPortal.Access.Roles.Admin,
    };

    private PipelinePortal(RegistryProcess registry, KubeApiServer cluster, PortalFactory portal, Uri url, string dataDirectory)
    {
        DataDirectory = dataDirectory;
        Registry = registry;
        Cluster = cluster;
        Portal = portal;
        Url = url;
        Pusher = new ImagePusher(registry);
        // The registry's warnings and errors (a notification it could not deliver, say), kept to explain a failed wait.
        registry.LogLine += line =>
        {
            if (line.Contains("level=error", StringComparison.Ordinal) || line.Contains("level=warn", StringComparison.Ordinal))
            {
                registryProblems.Enqueue(line);
            }
        };
    }

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> registryProblems = new();

    public RegistryProcess Registry { get; }
    public ImagePusher Pusher { get; }
    public KubeApiServer Cluster { get; }
    public PortalFactory Portal { get; }
    public Uri Url { get; }

    /// <summary>Where the portal's database and job storage live (shared by <see cref="SecondInstance"/>).</summary>
    public string DataDirectory { get; }

    public ApprovalBook Approvals => Portal.Services.GetRequiredService<ApprovalBook>();
    public WorkloadStore Workloads => Portal.Services.GetRequiredService<WorkloadStore>();

    public string Repository(string name) => $"{Registry.Host}/{name}";

    /// <summary>Starts the three parts; with <paramref name="notifications"/> the registry posts its push notifications to the portal.</summary>
    /// <summary>
    /// Starts the pipeline. The API server enforces the RBAC rules of the portal's own chart, rendered with
    /// <paramref name="chartValues"/> (<c>--set</c> values), for the portal's token: a right the chart does not grant is a
    /// 403, and disposing the pipeline fails if the portal was refused anything.
    /// </summary>
    public static async Task<PipelinePortal> StartAsync(
        bool notifications = false, Action<PortalFactory>? configure = null, string? sharedDataDirectory = null, string[]? chartValues = null,
        int? metricsPort = null)
    {
        var cluster = await KubeApiServer.StartAsync();
        cluster.AutoRollout = true;
        cluster.Rbac = await ChartRbac.ForPortalAsync(chartValues ?? []);
        cluster.Create(KubeObjects.Node("node-a"));
        var portal = NewPortal(cluster, sharedDataDirectory, null);
        configure?.Invoke(portal);
        // Port 0, read back once listening; the registry, started next, is told where to send its notifications.
        if (metricsPort is { } port)
        {
            // Metrics:Port names a number the portal compares with each connection's port, so that one is chosen beforehand.
            portal.With("Metrics:Port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            portal.UseKestrel(o =>
            {
                o.Listen(System.Net.IPAddress.Loopback, 0);
                o.Listen(System.Net.IPAddress.Loopback, port);
            });
        }
        else
        {
            portal.UseKestrel(0);
        }
        portal.StartServer();
        var url = new Uri(Loopback.Address(portal.Services) + "/");
        var registry = await RegistryProcess.StartAsync(RegistryAuth.Anonymous,
            notify: notifications ? (new Uri(url, "v1/webhooks/registry"), WebhookSecret) : null);
        var pipeline = new PipelinePortal(registry, cluster, portal, url, sharedDataDirectory ?? portal.DataDirectory);
        foreach (var (user, role) in Users)
        {
            await portal.EnsureUserAsync(user, role);
        }
        await portal.Services.GetRequiredService<WorkloadWatcher>().FirstSnapshot.WaitAsync(TimeSpan.FromSeconds(30));
        return pipeline;
    }

    /// <summary>Another portal instance on the same database (and job storage) as this one.</summary>
    public PortalFactory SecondInstance(Action<PortalFactory>? configure = null)
    {
        var second = NewPortal(Cluster, DataDirectory, Portal.Database);
        configure?.Invoke(second);
        _ = second.Services;
        return second;
    }

    private static PortalFactory NewPortal(KubeApiServer cluster, string? dataDirectory, string? database)
    {
        var portal = new PortalFactory()
            .With("Workloads:Server", cluster.Url)
            .With("Workloads:Token", ChartRbac.PortalToken)
            .With("Workloads:ReconnectDelay", "00:00:00.100")
            .With("Triggers:WebhookSecret", WebhookSecret)
            .With("Work:FirstRetryDelay", "00:00:00.200")
            // Public registries (Docker Hub for sidecars) are unreachable here; fail fast instead of backing off.
            .With("Registries:RetryBaseDelay", "00:00:00.020");
        if (database is not null)
        {
            portal.With("Data:ConnectionString", database);
        }
        else if (dataDirectory is not null)
        {
            portal.With("Data:ConnectionString", $"Data Source={Path.Combine(dataDirectory, "portal.db")}")
                .With("Jobs:StoragePath", Path.Combine(dataDirectory, "hangfire.db"))
                .With("Data:KeysPath", Path.Combine(dataDirectory, "keys"));
        }
        return portal;
    }

    /// <summary>A Deployment running <paramref name="image"/> with the given Keel annotations and one running pod.</summary>
    public void Deploy(string name, string image, IReadOnlyDictionary<string, string> annotations, IReadOnlyDictionary<string, string>? labels = null)
    {
        Cluster.Create(KubeObjects.Workload("Deployment", "shop", name, labels: labels, annotations: annotations, containers: [("app", image), ("sidecar", "envoyproxy/envoy:v1.30.1")]));
        Cluster.CompleteRollout("Deployment", "shop", name);
        Cluster.Create(KubeObjects.Pod("shop", name + "-0", name, "node-a", ("app", image, $"{image.Split(':')[0]}@sha256:{new string('0', 64)}")));
    }

    /// <summary>
    /// A Deployment <paramref name="name"/> on 1.0.0 (minor, polled, <paramref name="votes"/> approvals as a label) with 1.1.0
    /// pushed and polled: its pending approval.
    /// </summary>
    public async Task<Approval> PendingAsync(string name, int votes)
    {
        var repository = Repository($"team/{name}");
        await Pusher.PushAsync($"team/{name}", "1.0.0");
        await Pusher.PushAsync($"team/{name}", "1.1.0");
        Deploy(name, $"{repository}:1.0.0", new Dictionary<string, string> { ["keel.sh/policy"] = "minor", ["keel.sh/trigger"] = "poll" },
            labels: new Dictionary<string, string> { ["keel.sh/approvals"] = votes.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        await TrackedAsync($"deployment/shop/{name}");
        await PollNowAsync(repository);
        return await ApprovalAsync($"deployment/shop/{name}:1.1.0", a => a.State == ApprovalState.Pending);
    }

    /// <summary>Links chat users to accounts as the administrator root does (<c>POST /v1/chat-links</c>).</summary>
    public async Task LinkChatUsersAsync(string platform, params (string ChatUser, string User)[] links)
    {
        using var root = ApiClient("root");
        foreach (var (chatUser, user) in links)
        {
            using var linked = await root.PostAsJsonAsync("v1/chat-links", new { platform, chatUserId = chatUser, user });
            Assert.Equal(System.Net.HttpStatusCode.OK, linked.StatusCode);
        }
    }

    public async Task<WorkloadSnapshot> TrackedAsync(string id)
    {
        WorkloadSnapshot? snapshot = null;
        await Eventually.TrueAsync(async () => (snapshot = await Workloads.GetAsync(id)) is not null, TimeSpan.FromSeconds(15), $"{id} stored");
        return snapshot!;
    }

    /// <summary>
    /// Runs a repository's poll job now, as its schedule would at the start of its next slot: a run in a slot already
    /// polled does nothing (<c>PollRepositoryJob.IsDue</c>), so the slot's poll is forgotten first.
    /// </summary>
    public async Task PollNowAsync(string repository)
    {
        var key = repository.ToLowerInvariant();
        var id = KeelPortal.Triggers.PollScheduler.Prefix + key;
        var scheduler = Portal.Services.GetRequiredService<KeelPortal.Triggers.PollScheduler>();
        await Eventually.TrueAsync(() => scheduler.Registered.ContainsKey(key), TimeSpan.FromSeconds(15), $"poll job {id} registered");
        await using (var db = await Portal.Services.GetRequiredService<IDbContextFactory<KeelPortal.Data.PortalDbContext>>().CreateDbContextAsync())
        {
            await db.Set<KeelPortal.Triggers.PollState>().Where(p => p.Repository == key)
                .ExecuteUpdateAsync(s => s.SetProperty(p => p.LastPolledAtUtc, DateTime.UnixEpoch));
        }
        Portal.Services.GetRequiredService<IRecurringJobManager>().Trigger(id);
    }

    public async Task<Approval> ApprovalAsync(string identifier, Func<Approval, bool> condition, TimeSpan? timeout = null)
    {
        Approval? approval = null;
        try
        {
            await Eventually.TrueAsync(async () => (approval = await Approvals.FindAsync(identifier)) is not null && condition(approval),
                timeout ?? TimeSpan.FromSeconds(20), $"approval {identifier} ({approval?.State})");
        }
        catch (TimeoutException e)
        {
            // What the portal did meanwhile is what explains a wait that ran out.
            var trail = await Portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery(PageSize: 60));
            throw new TimeoutException(
                $"{e.Message}\nthe audit trail:\n{string.Join('\n', trail.Entries.OrderBy(a => a.Id).Select(a => $"{a.OccurredAtUtc:HH:mm:ss.fff} {a.Action} {a.Subject}: {a.Details}"))}" +
                $"\nthe portal's log:\n{PortalLog()}\nthe registry's warnings and errors:\n{string.Join('\n', registryProblems.TakeLast(50))}", e);
        }
        return approval!;
    }

    /// <summary>The portal's own log lines (information and above; the framework's left out), last ones first cut.</summary>
    public string PortalLog(int last = 200) => string.Join('\n', Portal.Logs.Lines
        .Where(l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Information && l.Category.StartsWith("KeelPortal", StringComparison.Ordinal))
        .TakeLast(last).Select(l => $"{l.Level} {l.Category}: {l.Message}"));

    /// <summary>A client for the webhook endpoints, carrying the webhook secret.</summary>
    public HttpClient WebhookClient()
    {
        var client = new HttpClient { BaseAddress = Url };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", WebhookSecret);
        return client;
    }

    public HttpClient ApiClient(string user)
    {
        var client = new HttpClient { BaseAddress = Url };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{SignIn.Password}")));
        return client;
    }

    public async Task<HttpResponseMessage> VoteAsync(string user, string identifier, string action = "approve", string? claimedVoter = null)
    {
        using var client = ApiClient(user);
        return await client.PostAsJsonAsync("v1/approvals", new { identifier, action, voter = claimedVoter ?? user });
    }

    public async Task<List<string>> AuditActionsAsync(string subjectContains)
    {
        var trail = await Portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery(PageSize: 500));
        return trail.Entries.Where(e => e.Subject.Contains(subjectContains, StringComparison.Ordinal))
            .OrderBy(e => e.Id).Select(e => e.Action).ToList();
    }

    public string ImageOf(string name) =>
        Cluster.Get("Deployment", "shop", name)!["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>();

    public int PatchesOf(string name) => Cluster.Requests.Count(r => r.Method == "PATCH" && r.Path.Split('?')[0].EndsWith("/deployments/" + name, StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        await Portal.DisposeAsync();
        var refused = Cluster.Forbidden;
        await Cluster.DisposeAsync();
        Pusher.Dispose();
        await Registry.DisposeAsync();
        if (refused.Count > 0)
        {
            throw new InvalidOperationException($"the chart's RBAC rules refused the portal: {string.Join("; ", refused.Distinct())}");
        }
    }

    internal static JsonObject Annotations(params (string Key, string Value)[] pairs) => new(pairs.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)));
}
