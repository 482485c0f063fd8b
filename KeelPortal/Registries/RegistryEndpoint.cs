using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;

namespace KeelPortal.Registries;

/// <summary>One registry host's HTTP pipeline: retries with backoff outside, its own limits inside, its own TLS rules.</summary>
internal sealed class RegistryEndpoint : IDisposable
{
    public RegistryEndpoint(string host, RegistrySettings settings, RegistriesOptions options, TimeProvider time, Telemetry.PortalMetrics metrics)
    {
        Host = host;
        Status = new RegistryStatus(host);
        var apiHost = string.IsNullOrWhiteSpace(settings.Mirror) ? ImageReference.ApiHostOf(host) : settings.Mirror.Trim();
        var plain = settings.PlainHttp ?? IsLoopback(apiHost);
        BaseUri = new Uri($"{(plain ? "http" : "https")}://{apiHost}/");

        var sockets = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.All,
            AllowAutoRedirect = true,
            SslOptions = TlsOptions(settings),
        };
        var limits = new RegistryLimitHandler(settings, Status, time, metrics) { InnerHandler = sockets };
        var resilience = new ResilienceHandler(Pipeline(settings, options, time)) { InnerHandler = limits };
        Http = new HttpClient(resilience) { Timeout = Timeout.InfiniteTimeSpan };
        Http.DefaultRequestHeaders.UserAgent.ParseAdd("KeelPortal/1.0");
    }

    public string Host { get; }
    public Uri BaseUri { get; }
    public HttpClient Http { get; }
    public RegistryStatus Status { get; }

    public void Dispose() => Http.Dispose();

    internal static bool IsLoopback(string host)
    {
        var name = host.StartsWith('[') ? host[1..host.IndexOf(']', StringComparison.Ordinal)] : host.Split(':')[0];
        return name == "localhost" || (IPAddress.TryParse(name, out var ip) && IPAddress.IsLoopback(ip));
    }

    private static ResiliencePipeline<HttpResponseMessage> Pipeline(RegistrySettings settings, RegistriesOptions options, TimeProvider time) =>
        new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(1, options.MaxRetries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                ShouldRetryAfterHeader = true,
                ShouldHandle = args => ValueTask.FromResult(options.MaxRetries > 0 && ShouldRetry(args.Outcome, options.MaxRetryAfterWait, time)),
            })
            .AddTimeout(settings.AttemptTimeout)
            .Build();

    /// <summary>5xx, 408, timeouts and connection failures are retried; a 429 only when its wait is short. TLS errors never are.</summary>
    private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, TimeSpan maxWait, TimeProvider time) => outcome switch
    {
        { Result: { StatusCode: HttpStatusCode.TooManyRequests } r } => RetryAfter(r, time) <= maxWait,
        { Result: { } r } => (int)r.StatusCode >= 500 || r.StatusCode == HttpStatusCode.RequestTimeout,
        { Exception: TimeoutRejectedException } => true,
        { Exception: HttpRequestException { InnerException: System.Security.Authentication.AuthenticationException } } => false,
        { Exception: HttpRequestException } => true,
        _ => false,
    };

    internal static TimeSpan RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }
        return header?.Date is { } date ? date - time.GetUtcNow() : TimeSpan.Zero;
    }

    private static SslClientAuthenticationOptions TlsOptions(RegistrySettings settings)
    {
        var tls = new SslClientAuthenticationOptions();
        if (settings.SkipTlsVerify)
        {
#pragma warning disable CA5359 // An administrator's explicit per-registry choice, documented as unsafe.
            tls.RemoteCertificateValidationCallback = (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (!string.IsNullOrWhiteSpace(settings.CaBundlePath))
        {
            tls.CertificateChainPolicy = TrustingOnly(settings.CaBundlePath);
        }
        return tls;
    }

    /// <summary>A chain policy that trusts exactly the CA certificates of a PEM bundle (a private CA), without revocation checks.</summary>
    public static X509ChainPolicy TrustingOnly(string caBundlePath)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(caBundlePath);
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.AddRange(roots);
        return policy;
    }
}
