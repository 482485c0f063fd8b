using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Tests.TestSupport;

/// <summary>One request a receiver got: where, with which headers, the body as sent, and when (a Stopwatch timestamp).</summary>
public sealed record ReceivedMessage(string Path, string Body, string? Authorization, string? ContentType, long At = 0)
{
    public JsonNode Json => JsonNode.Parse(Body)!;

    /// <summary>The status it was answered with; 0 while it is held or was never answered (the sender gave up).</summary>
    public int Status { get; set; }

    /// <summary>The <c>Idempotency-Key</c> header it carried, if any.</summary>
    public string? IdempotencyKey { get; init; }
}

/// <summary>
/// Stands in for Slack, Mattermost, Teams, Discord and webhook receivers on a loopback port: records every POST and
/// answers as a test scripts it (statuses in order, then 200 "ok"), or never answers at all.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<ReceivedMessage> received = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(int Status, string Body)>> scripts = new();
    private readonly ConcurrentDictionary<string, bool> hanging = new();
    private readonly CancellationTokenSource stopping = new();

    private WebhookReceiver()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(Loopback.AnyPort);
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.MapPost("/{**path}", HandleAsync);
    }

    public Uri BaseUrl { get; private set; } = null!;

    public IReadOnlyList<ReceivedMessage> Received => received.ToArray();

    public Uri Url(string path) => new(BaseUrl, path.TrimStart('/'));

    public IReadOnlyList<ReceivedMessage> At(string path) => received.Where(m => m.Path == "/" + path.TrimStart('/')).ToList();

    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        await receiver.app.StartAsync();
        receiver.BaseUrl = new Uri(Loopback.Address(receiver.app) + "/");
        return receiver;
    }

    /// <summary>The next requests to <paramref name="path"/> get these answers, in order; later ones get 200 "ok".</summary>
    public void Answer(string path, params (int Status, string Body)[] answers) =>
        scripts["/" + path.TrimStart('/')] = new ConcurrentQueue<(int, string)>(answers);

    /// <summary>Requests to <paramref name="path"/> are recorded and never answered (until the receiver stops).</summary>
    public void Hang(string path) => hanging["/" + path.TrimStart('/')] = true;

    /// <summary>Requests to <paramref name="path"/> from now on are answered again (those already held stay held).</summary>
    public void Unhang(string path) => hanging.TryRemove("/" + path.TrimStart('/'), out _);

    /// <summary>Waits until <paramref name="path"/> has received <paramref name="count"/> messages and returns them.</summary>
    public async Task<IReadOnlyList<ReceivedMessage>> WaitForAsync(string path, int count = 1, TimeSpan? timeout = null)
    {
        await Eventually.TrueAsync(() => At(path).Count >= count, timeout ?? TimeSpan.FromSeconds(20), $"{count} message(s) at /{path.TrimStart('/')}, got {At(path).Count}");
        return At(path);
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var path = context.Request.Path.Value ?? "/";
        var message = new ReceivedMessage(path, body, context.Request.Headers.Authorization.FirstOrDefault(), context.Request.ContentType,
            System.Diagnostics.Stopwatch.GetTimestamp()) { IdempotencyKey = context.Request.Headers["Idempotency-Key"].FirstOrDefault() };
        received.Enqueue(message);
        if (hanging.ContainsKey(path))
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping.Token);
            await Task.Delay(Timeout.Infinite, linked.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }
        var (status, text) = scripts.TryGetValue(path, out var script) && script.TryDequeue(out var next) ? next : (200, "ok");
        context.Response.StatusCode = status;
        if (status == 429)
        {
            context.Response.Headers.RetryAfter = "1";
        }
        await context.Response.WriteAsync(text);
        message.Status = status;
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        await app.StopAsync();
        await app.DisposeAsync();
        stopping.Dispose();
    }
}
