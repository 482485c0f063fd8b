using System.Threading.Channels;
using KeelPortal.Audit;
using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Triggers;

/// <summary>
/// Writes what webhooks bring — each one's audit entry and, when it brought anything new, its planning work —
/// through one writer that commits whatever has arrived meanwhile in a single transaction (a group commit). Each
/// webhook is answered only once its own rows are committed, so nothing answered is lost; in a burst, many webhooks
/// share one commit instead of queueing for the database's write lock one by one.
/// </summary>
public sealed partial class WebhookInbox(
    IDbContextFactory<PortalDbContext> contexts, AuditTrail audit, Outbox outbox, WebhookBursts bursts,
    ILogger<WebhookInbox> logger) : BackgroundService
{
    private const int MaxBatch = 256;
    private readonly Channel<Arrival> arrivals = Channel.CreateUnbounded<Arrival>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Commits the webhook's audit entry and its work (when <paramref name="webhook"/> is not null), which starts here after the commit.</summary>
    public async Task WriteAsync(string subject, string details, WebhookReceived? webhook, CancellationToken ct)
    {
        var arrival = new Arrival(subject, details, webhook, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!arrivals.Writer.TryWrite(arrival))
        {
            NotStored(arrival);
            throw new InvalidOperationException("the portal is stopping; webhooks are not taken any more");
        }
        await arrival.Committed.Task.WaitAsync(ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Arrival>(MaxBatch);
        try
        {
            while (await arrivals.Reader.WaitToReadAsync(stoppingToken))
            {
                while (batch.Count < MaxBatch && arrivals.Reader.TryRead(out var next))
                {
                    batch.Add(next);
                }
                await CommitAsync(batch, stoppingToken);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        arrivals.Writer.TryComplete();
        while (arrivals.Reader.TryRead(out var left))
        {
            NotStored(left);
            left.Committed.TrySetCanceled(stoppingToken);
        }
    }

    private async Task CommitAsync(List<Arrival> batch, CancellationToken ct)
    {
        try
        {
            await using var db = await contexts.CreateDbContextAsync(ct);
            for (var i = 0; i < batch.Count; i++)
            {
                var arrival = batch[i];
                audit.Stage(db, AuditTrail.System, AuditActions.WebhookReceived, arrival.Subject, arrival.Details);
                if (arrival.Webhook is { } webhook)
                {
                    outbox.Stage(db, webhook);
                }
            }
            await db.SaveChangesAsync(ct);
        }
#pragma warning disable CA1031 // Every waiting request hears of the failure; the writer goes on with the next batch.
        catch (Exception e)
#pragma warning restore CA1031
        {
            if (batch.Count > 1)
            {
                // One webhook's rows must not fail the others': each is tried again on its own.
                foreach (var arrival in batch)
                {
                    await CommitAsync([arrival], ct);
                }
                return;
            }
            LogCommitFailed(e);
            NotStored(batch[0]);
            batch[0].Committed.TrySetException(e);
            return;
        }
        foreach (var arrival in batch)
        {
            arrival.Committed.TrySetResult();
        }
    }

    /// <summary>
    /// A webhook that was not stored is not "received moments ago": its sender hears of the failure (or does not hear
    /// back at all) and sends it again, and that delivery must be taken — even when the first one's request gave up.
    /// </summary>
    private void NotStored(Arrival arrival)
    {
        if (arrival.Webhook is { } webhook)
        {
            bursts.Forget(webhook.Provider, webhook.Events);
        }
    }

    private sealed record Arrival(string Subject, string Details, WebhookReceived? Webhook, TaskCompletionSource Committed);

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing a received webhook failed; its sender gets an error and may send it again")]
    private partial void LogCommitFailed(Exception exception);
}
