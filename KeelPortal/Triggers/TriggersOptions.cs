namespace KeelPortal.Triggers;

public sealed class TriggersOptions
{
    public const string Section = "Triggers";

    /// <summary>
    /// The shared secret every webhook must carry, as <c>Authorization: Bearer &lt;secret&gt;</c> or <c>?token=&lt;secret&gt;</c>.
    /// A secret: set it through an environment variable (<c>Triggers__WebhookSecret</c>) or a secret store.
    /// </summary>
    public string? WebhookSecret { get; set; }

    /// <summary>
    /// HTTP Basic credentials a webhook may carry instead of the secret, as Keel's webhooks did with
    /// <c>AUTHENTICATED_WEBHOOKS=true</c>: unset, they are taken from Keel's <c>BASIC_AUTH_USER</c> and
    /// <c>BASIC_AUTH_PASSWORD</c> when <c>AUTHENTICATED_WEBHOOKS</c> is <c>true</c>. Compared in constant time.
    /// </summary>
    public string? WebhookBasicUser { get; set; }

    /// <summary>The password of <see cref="WebhookBasicUser"/>. A secret.</summary>
    public string? WebhookBasicPassword { get; set; }

    /// <summary>
    /// Compatibility with Keel's open Distribution endpoint: networks (addresses or CIDRs) from which
    /// <c>/v1/webhooks/registry</c> is accepted without a secret, for registries that cannot send a header. Empty (the
    /// default): none.
    /// </summary>
    public List<string> RegistryNotifySources { get; set; } = [];

    /// <summary>The registry an Artifactory webhook's bare image name lives in (Keel's <c>PRIVATE_REGISTRY</c>), such as <c>acme.jfrog.io</c>.</summary>
    public string? JfrogRegistry { get; set; }

    /// <summary>Google Container Registry's notifications on Pub/Sub, as Keel's <c>PUBSUB</c> trigger.</summary>
    public PubSubOptions PubSub { get; set; } = new();

    public bool HasBasic => !string.IsNullOrEmpty(WebhookBasicUser) && !string.IsNullOrEmpty(WebhookBasicPassword);

    /// <summary>On by default for every endpoint, <c>/v1/webhooks/registry</c> included. Off accepts webhooks as Keel does.</summary>
    public bool RequireWebhookSecret { get; set; } = true;

    /// <summary>An identical webhook event (provider, repository, tag, digest) received again within this time is not queued again.</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan WebhookRepeatWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many received webhooks each replica plans at the same time (the rest wait in arrival order).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 64)]
    public int WebhookPlanners { get; set; } = Math.Max(2, Environment.ProcessorCount);

    /// <summary>
    /// Webhooks per second above which this replica defers planning (answering first); 0 plans every webhook at once.
    /// A single webhook, or a steady trickle, is planned the moment it is committed.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(0, 100_000, ErrorMessage = "Triggers:WebhookBurstRate must be between 0 (off) and 100000 webhooks a second.")]
    public int WebhookBurstRate { get; set; } = 50;

    /// <summary>The longest a webhook's planning waits for a burst to pass.</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00", "00:00:50",
        ErrorMessage = "Triggers:WebhookBurstDelay must be between 00:00:00 and 00:00:50.")]
    public TimeSpan WebhookBurstDelay { get; set; } = TimeSpan.FromSeconds(10);
}
