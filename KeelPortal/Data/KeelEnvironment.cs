namespace KeelPortal.Data;

/// <summary>
/// One environment variable Keel documents, and what KeelPortal does with it: mapped to the setting it means
/// (<see cref="Setting"/>, its value through <see cref="Value"/>), read under Keel's own name where it is used (neither), or
/// refused (<see cref="Refusal"/>: start-up stops naming it and what to use instead).
/// </summary>
public sealed record KeelVariable(string Name, string? Setting, string Meaning, Func<string, string?>? Value = null, string? Refusal = null, bool Secret = false);

/// <summary>What the Keel variables set in this process mean: a line per honoured one, and the refused ones.</summary>
public sealed record KeelEnvironmentReport(IReadOnlyList<string> Honoured, IReadOnlyList<string> Refused);

/// <summary>
/// Keel's environment variables (keel-hq/keel <c>cmd/keel</c>, <c>constants</c>, its chart): none is silently ignored.
/// A mapped variable gives its setting a value only when the setting itself is not set anywhere, so KeelPortal's own
/// names always win.
/// </summary>
public static class KeelEnvironment
{
    private static string? Bool(string text) => text.Trim().ToLowerInvariant() switch
    {
        "1" or "true" or "yes" or "on" => "true",
        "0" or "false" or "no" or "off" => "false",
        _ => null,
    };

    /// <summary>A Go duration (<c>10s</c>, <c>1m30s</c>, <c>500ms</c>) as a setting's time span, or null.</summary>
    private static string? GoDuration(string text)
    {
        var matches = System.Text.RegularExpressions.Regex.Matches(text.Trim(), @"(\d+(?:\.\d+)?)(ms|h|m|s)");
        if (matches.Count == 0 || string.Concat(matches.Select(m => m.Value)) != text.Trim())
        {
            return null;
        }
        var total = TimeSpan.Zero;
        foreach (System.Text.RegularExpressions.Match m in matches)
        {
            var value = double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            total += m.Groups[2].Value switch { "h" => TimeSpan.FromHours(value), "m" => TimeSpan.FromMinutes(value), "s" => TimeSpan.FromSeconds(value), _ => TimeSpan.FromMilliseconds(value) };
        }
        return total > TimeSpan.Zero ? total.ToString("c", System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    private static string? Text(string text) => text.Trim() is { Length: > 0 } trimmed ? trimmed : null;

    public static IReadOnlyList<KeelVariable> Variables { get; } =
    [
        new("POLL", "Workloads:Polling", "polling on or off", Bool),
        new("POLL_DEFAULTSCHEDULE", "Workloads:DefaultPollSchedule", "the default poll schedule", Text),
        new("HELM3_PROVIDER", "Helm:Enabled", "Helm releases", Bool),
        new("INSECURE_REGISTRY", "Registries:Defaults:SkipTlsVerify", "registries' TLS certificates not checked", Bool),
        new("DOCKER_REGISTRY_CFG", "Registries:DockerConfig", "registry credentials for every workload (a Docker config JSON)", Text, Secret: true),
        new("KUBERNETES_CONFIG", "Workloads:Kubeconfig", "the kubeconfig file", Text),
        new("KUBERNETES_MASTERURL", "Workloads:Server", "the API server", Text),
        new("KUBERNETES_CONTEXT", "Workloads:Context", "the kubeconfig context", Text),
        new("RESTRICTED_NAMESPACE", "Workloads:Namespaces:0", "the one namespace watched", Text),
        new("DEBUG", "Logging:LogLevel:KeelPortal", "debug logging", t => Bool(t) switch { "true" => "Debug", "false" => "Information", _ => null }),
        new("BASIC_AUTH_USER", "Access:Admin:UserName", "the first administrator's name (and, with AUTHENTICATED_WEBHOOKS, the webhooks' Basic user)", Text),
        new("BASIC_AUTH_PASSWORD", "Access:Admin:Password", "the first administrator's password (and, with AUTHENTICATED_WEBHOOKS, the webhooks' Basic password)", Text, Secret: true),
        new("AUTHENTICATED_WEBHOOKS", null, "webhooks accept BASIC_AUTH_USER and BASIC_AUTH_PASSWORD"),
        new("PRIVATE_REGISTRY", null, "the registry of Artifactory's bare image names"),
        new("NOTIFICATION_LEVEL", null, "the lowest level notified"),
        new("SLACK_TOKEN", null, "the Slack channel's bot token"),
        new("SLACK_BOT_TOKEN", null, "the Slack channel's bot token"),
        new("SLACK_CHANNELS", null, "the Slack channels notified"),
        new("SLACK_APPROVALS_CHANNEL", null, "the Slack channel asked for approvals"),
        new("SLACK_BOT_NAME", null, "the name Slack messages are sent as"),
        new("MATTERMOST_ENDPOINT", null, "the Mattermost channel"),
        new("MATTERMOST_USERNAME", null, "the name Mattermost messages are sent as"),
        new("TEAMS_WEBHOOK_URL", null, "the Microsoft Teams channel"),
        new("DISCORD_WEBHOOK_URL", null, "the Discord channel"),
        new("WEBHOOK_ENDPOINT", null, "the generic webhook channel"),
        new("PUBSUB", null, "Google Container Registry's notifications on Pub/Sub"),
        new("PROJECT_ID", null, "the Google Cloud project of Pub/Sub"),
        new("CLUSTER_NAME", null, "this cluster's name in the Pub/Sub subscription"),
        new("GOOGLE_APPLICATION_CREDENTIALS", null, "Google credentials for Artifact Registry and Pub/Sub"),
        new("TOKEN_SECRET", null, "not needed: console sessions and API tokens are protected with the portal's data-protection keys (Data:KeysPath)"),
        new("UI_DIR", null, "not needed: the console is built in"),
        new("XDG_DATA_HOME", null, "not needed: the portal's database is Data:ConnectionString (the chart keeps it under /data)"),
        new("HELM_DRIVER", null, "not needed: each release's storage (Secrets, ConfigMaps or SQL) is found where Helm wrote it"),
        new("AUTH_MODE", null, "legacy: the portal's own accounts", Refusal: null),
        new("SLACK_APP_TOKEN", "Chat:SlackAppToken", "the Slack app-level token: the bot in Socket Mode", Text, Secret: true),
        new("MAIL_SMTP_SERVER", null, "the e-mail channel's SMTP server"),
        new("MAIL_SMTP_PORT", null, "the e-mail channel's SMTP port"),
        new("MAIL_SMTP_USER", null, "the e-mail channel's SMTP user"),
        new("MAIL_SMTP_PASS", null, "the e-mail channel's SMTP password", Secret: true),
        new("MAIL_FROM", null, "the e-mail channel's sender"),
        new("MAIL_TO", null, "the e-mail channel's recipients"),
        new("SHOUTRRR_URLS", null, "shoutrrr service URLs as channels (slack, discord, mattermost, teams, generic, smtp, telegram, pushover)"),
        new("SHOUTRRR_TIMEOUT", "Notifications:AttemptTimeout", "how long one notification attempt may take",
            GoDuration),
        new("AUTH_PROXY_USER_HEADER", null, "sign-in by an authenticating proxy", Refusal: "a proxy's user header is not trusted for sign-in: use single sign-on (Access:Oidc:Authority, Access:Oidc:ClientId, Access:Oidc:ClientSecret)"),
        new("AUTH_PROXY_LOGOUT_URL", null, "sign-in by an authenticating proxy", Refusal: "a proxy's user header is not trusted for sign-in: use single sign-on (Access:Oidc:*) and remove AUTH_PROXY_LOGOUT_URL"),
        new("HELM_KUBEAPISERVER", null, "Helm's API server", Refusal: "Helm talks to the cluster the portal watches: set Workloads:Server and Workloads:Token instead"),
        new("HELM_KUBECONTEXT", null, "Helm's kubeconfig context", Refusal: "Helm talks to the cluster the portal watches: set Workloads:Context instead"),
        new("HELM_KUBETOKEN", null, "Helm's API token", Refusal: "Helm talks to the cluster the portal watches: set Workloads:Token instead"),
        .. new[] { "HIPCHAT_TOKEN", "HIPCHAT_CHANNELS", "HIPCHAT_APPROVALS_CHANNEL", "HIPCHAT_APPROVALS_BOT_NAME", "HIPCHAT_APPROVALS_USER_NAME",
            "HIPCHAT_APPROVALS_PASSWORT", "HIPCHAT_BOT_NAME", "HIPCHAT_SERVER", "HIPCHAT_CONNECTION_ATTEMPTS" }
            .Select(name => new KeelVariable(name, null, "HipChat", Refusal: "HipChat was shut down in 2019: remove the HIPCHAT_* variables and use a Slack, Mattermost, Teams or Discord channel")),
    ];

    /// <summary>The settings Keel's variables give a value to: setting → variable (the first one that maps to it).</summary>
    private static readonly Dictionary<string, KeelVariable> BySetting =
        Variables.Where(v => v.Setting is not null).GroupBy(v => v.Setting!, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);

    /// <summary>Adds the mapping to <paramref name="configuration"/>: each mapped setting reads its Keel variable while nothing else sets it.</summary>
    public static IConfigurationBuilder AddKeelEnvironment(this IConfigurationManager configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Sources.Add(new KeelEnvironmentSource((IConfigurationRoot)configuration));
        return configuration;
    }

    /// <summary>What the Keel variables set in <paramref name="configuration"/> mean, and which of them stop start-up.</summary>
    public static KeelEnvironmentReport Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var honoured = new List<string>();
        var refused = new List<string>();
        foreach (var variable in Variables)
        {
            if (configuration[variable.Name] is not { } raw || raw.Trim().Length == 0)
            {
                continue;
            }
            if (variable.Refusal is not null)
            {
                refused.Add($"{variable.Name}: {variable.Refusal}");
            }
            else if (variable.Name == "AUTH_MODE" && !string.Equals(raw.Trim(), "legacy", StringComparison.OrdinalIgnoreCase))
            {
                refused.Add($"AUTH_MODE={LogSafe(raw)}: only Keel's legacy mode (the portal's own accounts) is taken; for sign-in through an identity provider use single sign-on (Access:Oidc:*)");
            }
            else if (variable.Setting is null)
            {
                honoured.Add($"{variable.Name}: {variable.Meaning}");
            }
            else if (variable.Value!(raw) is not { } value)
            {
                refused.Add($"{variable.Name}={LogSafe(raw)}: not a value for {variable.Meaning}; set {variable.Setting} ({variable.Setting.Replace(":", "__", StringComparison.Ordinal)}) instead");
            }
            else
            {
                var own = configuration[variable.Setting];
                var shown = variable.Secret ? "(set)" : value;
                honoured.Add(own is not null && own != value
                    ? $"{variable.Name}: {variable.Meaning} — not used, {variable.Setting} is set"
                    : $"{variable.Name} → {variable.Setting} = {shown} ({variable.Meaning})");
            }
        }
        return new(honoured, refused);
    }

    private static string LogSafe(string text) => text.Length <= 40 ? text.Trim() : string.Concat(text.AsSpan(0, 39), "…");

    /// <summary>The value a Keel variable gives <paramref name="setting"/>, or null (no variable maps to it, it is unset or not a value).</summary>
    internal static string? ValueFor(IConfiguration root, string setting) =>
        BySetting.TryGetValue(setting, out var variable) && root[variable.Name] is { } raw && raw.Trim().Length > 0 ? variable.Value!(raw) : null;

    internal static IEnumerable<string> Settings => BySetting.Keys;
}

/// <summary>The mapped settings as a configuration source: asked for a setting no other source sets, it answers with its Keel variable's value.</summary>
internal sealed class KeelEnvironmentSource(IConfigurationRoot root) : IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new KeelEnvironmentProvider(root);
}

internal sealed class KeelEnvironmentProvider(IConfigurationRoot root) : ConfigurationProvider
{
    public override bool TryGet(string key, out string? value)
    {
        value = null;
        if (!KeelEnvironment.Settings.Contains(key, StringComparer.OrdinalIgnoreCase) || SetElsewhere(key))
        {
            return false;
        }
        value = KeelEnvironment.ValueFor(root, key);
        return value is not null;
    }

    public override IEnumerable<string> GetChildKeys(IEnumerable<string> earlierKeys, string? parentPath)
    {
        var prefix = parentPath is null ? "" : parentPath + ConfigurationPath.KeyDelimiter;
        var mine = KeelEnvironment.Settings
            .Where(s => s.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && TryGet(s, out _))
            .Select(s => s[prefix.Length..].Split(ConfigurationPath.KeyDelimiter)[0]);
        return earlierKeys.Concat(mine).Order(ConfigurationKeyComparer.Instance);
    }

    private bool SetElsewhere(string key) => root.Providers.Any(p => !ReferenceEquals(p, this) && p.TryGet(key, out _));
}

/// <summary>Stops start-up while a Keel variable KeelPortal does not take is set, naming each and what to use instead.</summary>
internal sealed class KeelEnvironmentValidation(IConfiguration configuration) : Microsoft.Extensions.Options.IValidateOptions<DataOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, DataOptions options) =>
        KeelEnvironment.Read(configuration).Refused is { Count: > 0 } refused
            ? Microsoft.Extensions.Options.ValidateOptionsResult.Fail(refused.Select(r => "Keel's " + r))
            : Microsoft.Extensions.Options.ValidateOptionsResult.Success;
}

/// <summary>Names each Keel variable set and the setting it was taken as, once at start-up.</summary>
internal sealed partial class KeelEnvironmentLog(IConfiguration configuration, ILogger<KeelEnvironmentLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var line in KeelEnvironment.Read(configuration).Honoured)
        {
            LogHonoured(line);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Keel's {Variable}")]
    private partial void LogHonoured(string variable);
}
