using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Tests.TestSupport;

/// <summary>A fault to answer with instead of forwarding: a status (with Retry-After) or a delay before forwarding.</summary>
public sealed record Fault(int Status = 0, string? RetryAfter = null, TimeSpan Delay = default);

/// <summary>
/// A loopback proxy in front of the real registry that injects faults (429, 5xx, slow answers) and can page the
/// registry's tag list with <c>Link</c> headers, as Docker Hub, GHCR and Harbor do.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private static readonly HashSet<string> CopiedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Docker-Content-Digest", "WWW-Authenticate", "Link", "Docker-Distribution-Api-Version",
    };

    private readonly WebApplication app;
    private readonly HttpClient upstream;
    private readonly ConcurrentQueue<Fault> faults = new();
    private int requests;

    private FaultProxy(Uri target)
    {
        upstream = new HttpClient { BaseAddress = target };

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(Loopback.AnyPort);
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.Run(HandleAsync);
    }

    public string Host { get; private set; } = "";

    /// <summary>Tags per page when paging <c>tags/list</c>; 0 passes the registry's answer through whole.</summary>
    public int TagPageSize { get; set; }

    public int Requests => Volatile.Read(ref requests);

    /// <summary>Drop <c>Docker-Content-Digest</c> from answers, as some proxies and older registries do.</summary>
    public bool StripDigestHeader { get; set; }

    /// <summary>Headers added to every forwarded answer (Docker Hub's <c>RateLimit-*</c>, for example).</summary>
    public Dictionary<string, string> ExtraHeaders { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The methods of the requests forwarded, in order.</summary>
    public ConcurrentQueue<string> Methods { get; } = new();

    public static async Task<FaultProxy> StartAsync(Uri target)
    {
        var proxy = new FaultProxy(target);
        await proxy.app.StartAsync();
        proxy.Host = new Uri(Loopback.Address(proxy.app)).Authority;
        return proxy;
    }

    public void Enqueue(params Fault[] next)
    {
        foreach (var fault in next)
        {
            faults.Enqueue(fault);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await app.DisposeAsync();
        upstream.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref requests);
        if (faults.TryDequeue(out var fault))
        {
            if (fault.Delay > TimeSpan.Zero)
            {
                await Task.Delay(fault.Delay, context.RequestAborted);
            }
            if (fault.Status != 0)
            {
                context.Response.StatusCode = fault.Status;
                if (fault.RetryAfter is not null)
                {
                    context.Response.Headers.RetryAfter = fault.RetryAfter;
                }
                return;
            }
        }
        var path = context.Request.Path.Value!.TrimStart('/');
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), path + context.Request.QueryString);
        foreach (var header in new[] { "Accept", "Authorization" })
        {
            if (context.Request.Headers.TryGetValue(header, out var value))
            {
                request.Headers.TryAddWithoutValidation(header, value.ToArray());
            }
        }
        using var response = await upstream.SendAsync(request, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        Methods.Enqueue(context.Request.Method);
        foreach (var header in response.Headers.Where(h => CopiedHeaders.Contains(h.Key)))
        {
            if (!(StripDigestHeader && header.Key.Equals("Docker-Content-Digest", StringComparison.OrdinalIgnoreCase)))
            {
                context.Response.Headers[header.Key] = header.Value.ToArray();
            }
        }
        foreach (var (name, value) in ExtraHeaders)
        {
            context.Response.Headers[name] = value;
        }
        if (response.Content.Headers.ContentType is { } type)
        {
            context.Response.ContentType = type.ToString();
        }
        var body = await response.Content.ReadAsByteArrayAsync();
        if (TagPageSize > 0 && path.EndsWith("/tags/list", StringComparison.Ordinal) && response.IsSuccessStatusCode)
        {
            body = Page(context, path, body);
        }
        if (context.Request.Method != "HEAD")
        {
            await context.Response.Body.WriteAsync(body);
        }
    }

    /// <summary>Serves the tags after <c>last</c>, <see cref="TagPageSize"/> at a time, with a relative next link.</summary>
    private byte[] Page(HttpContext context, string path, byte[] body)
    {
        using var json = JsonDocument.Parse(body);
        var all = json.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).Order(StringComparer.Ordinal).ToList();
        var last = context.Request.Query["last"].ToString();
        var rest = all.Where(t => string.CompareOrdinal(t, last) > 0).ToList();
        var page = rest.Take(TagPageSize).ToList();
        if (rest.Count > page.Count)
        {
            context.Response.Headers["Link"] = $"</{path}?last={Uri.EscapeDataString(page[^1])}&n={TagPageSize}>; rel=\"next\"";
        }
        return JsonSerializer.SerializeToUtf8Bytes(new { name = json.RootElement.GetProperty("name").GetString(), tags = page });
    }
}
