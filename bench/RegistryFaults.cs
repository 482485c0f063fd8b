using System.Collections.Concurrent;
using KeelPortal.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Bench;

/// <summary>
/// A loopback proxy in front of the real registry: forwards every request as it is, except the next ones a fault was
/// queued for, which it answers itself (a 5xx, or 429 with <c>Retry-After: 1</c>) — a registry having a bad minute.
/// </summary>
public sealed class RegistryFaults : IAsyncDisposable
{
    private static readonly string[] Copied = ["Content-Type", "Docker-Content-Digest", "Docker-Distribution-Api-Version", "Link", "Location", "Www-Authenticate"];
    private readonly WebApplication app;
    private readonly HttpClient upstream = new();
    private readonly ConcurrentQueue<int> faults = new();
    private int faulted;
    private int forwarded;

    private RegistryFaults(string upstreamHost)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(Loopback.AnyPort);
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.Run(context => ForwardAsync(context, upstreamHost));
    }

    /// <summary>Where the portal reaches the registry (<c>127.0.0.1:port</c>).</summary>
    public string Host { get; private set; } = "";

    public int Faulted => faulted;

    public int Forwarded => forwarded;

    public static async Task<RegistryFaults> StartAsync(string upstreamHost)
    {
        var proxy = new RegistryFaults(upstreamHost);
        await proxy.app.StartAsync();
        proxy.Host = new Uri(Loopback.Address(proxy.app)).Authority;
        return proxy;
    }

    /// <summary>The next <paramref name="count"/> requests are answered <paramref name="status"/>.</summary>
    public void Fail(int status, int count)
    {
        for (var i = 0; i < count; i++)
        {
            faults.Enqueue(status);
        }
    }

    private async Task ForwardAsync(HttpContext context, string upstreamHost)
    {
        if (faults.TryDequeue(out var status))
        {
            Interlocked.Increment(ref faulted);
            context.Response.StatusCode = status;
            if (status == 429)
            {
                context.Response.Headers.RetryAfter = "1";
            }
            return;
        }
        Interlocked.Increment(ref forwarded);
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), $"http://{upstreamHost}{context.Request.Path}{context.Request.QueryString}");
        foreach (var accept in context.Request.Headers.Accept)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }
        using var response = await upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var name in Copied)
        {
            if (response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }
        if (response.Content.Headers.ContentLength is { } length)
        {
            context.Response.ContentLength = length;
        }
        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        upstream.Dispose();
    }
}
