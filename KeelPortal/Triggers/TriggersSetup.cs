using KeelPortal.Data;

namespace KeelPortal.Triggers;

public static class TriggersSetup
{
    public static WebApplicationBuilder AddTriggers(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<TriggersOptions>().BindConfiguration(TriggersOptions.Section)
            .PostConfigure<IConfiguration>(KeelNames)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<TriggersOptions>, TriggersValidation>();
        builder.Services.AddSingleton<WebhookBursts>();
        builder.Services.AddSingleton<WebhookTraffic>();
        builder.Services.AddTransient<PollRepositoryJob>();
        builder.Services.AddSingleton<WebhookPlanners>();
        builder.Services.AddTransient<WebhookWork>();
        builder.Services.AddHandler<WebhookReceived, WebhookWork>();
        builder.Services.AddSingleton<WebhookInbox>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookInbox>());
        builder.Services.AddSingleton<PubSubTrigger>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PubSubTrigger>());
        builder.Services.AddSingleton<PollScheduler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PollScheduler>());
        return builder;
    }

    /// <summary>
    /// Keel's names, where the portal's own are unset: <c>BASIC_AUTH_USER</c>/<c>BASIC_AUTH_PASSWORD</c> guard webhooks
    /// when <c>AUTHENTICATED_WEBHOOKS</c> is <c>true</c> (as in Keel), and <c>PRIVATE_REGISTRY</c> prefixes Artifactory's names.
    /// </summary>
    private static void KeelNames(TriggersOptions options, IConfiguration configuration)
    {
        if (string.Equals(configuration["AUTHENTICATED_WEBHOOKS"]?.Trim(), "true", StringComparison.OrdinalIgnoreCase)
            && string.IsNullOrEmpty(options.WebhookBasicUser) && string.IsNullOrEmpty(options.WebhookBasicPassword))
        {
            (options.WebhookBasicUser, options.WebhookBasicPassword) = (configuration["BASIC_AUTH_USER"], configuration["BASIC_AUTH_PASSWORD"]);
        }
        options.JfrogRegistry ??= configuration["PRIVATE_REGISTRY"] is { Length: > 0 } registry ? registry.Trim() : null;
        var pubSub = options.PubSub;
        // As Keel: any non-empty value turns it on, but "0" and "false".
        pubSub.Enabled |= configuration["PUBSUB"]?.Trim().ToLowerInvariant() is { Length: > 0 } and not ("0" or "false");
        pubSub.ProjectId ??= configuration["PROJECT_ID"] is { Length: > 0 } project ? project.Trim() : null;
        pubSub.ClusterName ??= configuration["CLUSTER_NAME"] is { Length: > 0 } cluster ? cluster.Trim() : null;
        pubSub.EmulatorHost ??= configuration["PUBSUB_EMULATOR_HOST"] is { Length: > 0 } emulator ? emulator.Trim() : null;
    }

    public static WebApplication MapTriggers(this WebApplication app)
    {
        app.MapWebhooks();
        return app;
    }
}

/// <summary>Every <c>Triggers:RegistryNotifySources</c> entry is an address or a network; Basic credentials come in pairs.</summary>
public sealed class TriggersValidation : Microsoft.Extensions.Options.IValidateOptions<TriggersOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, TriggersOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.RegistryNotifySources.Select((entry, i) => (entry, i))
            .Where(e => !Access.TrustedProxiesValidation.TryParse(e.entry, out _, out _))
            .Select(e => $"Triggers:RegistryNotifySources:{e.i}: '{e.entry}' is neither an IP address nor a CIDR network (such as 10.0.0.0/8)")
            .ToList();
        if (options.PubSub.Enabled && string.IsNullOrWhiteSpace(options.PubSub.ProjectId))
        {
            errors.Add("Triggers:PubSub:ProjectId (Keel's PROJECT_ID) is required when Pub/Sub is enabled (Triggers:PubSub:Enabled, Keel's PUBSUB)");
        }
        if (string.IsNullOrEmpty(options.WebhookBasicUser) != string.IsNullOrEmpty(options.WebhookBasicPassword))
        {
            errors.Add("Triggers:WebhookBasicUser and Triggers:WebhookBasicPassword (or Keel's BASIC_AUTH_USER and BASIC_AUTH_PASSWORD with AUTHENTICATED_WEBHOOKS=true) go together: set both or neither");
        }
        return errors.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(errors);
    }
}
