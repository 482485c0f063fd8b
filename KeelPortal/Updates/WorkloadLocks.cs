namespace KeelPortal.Updates;

/// <summary>
/// One lock per workload id, held by this process while it decides or applies for that workload, so two webhooks for
/// one workload are decided one after the other and two applies of one workload never race. Across replicas the apply's
/// own check (against the object it writes, under its resourceVersion) keeps the order. An entry lives while held.
/// </summary>
public sealed class WorkloadLocks
{
    private readonly Dictionary<string, Entry> held = new(StringComparer.Ordinal);

    public async Task<IDisposable> TakeAsync(string workloadId, CancellationToken ct)
    {
        Entry entry;
        lock (held)
        {
            if (!held.TryGetValue(workloadId, out entry!))
            {
                entry = new Entry();
                held[workloadId] = entry;
            }
            entry.Users++;
        }
        try
        {
            await entry.Gate.WaitAsync(ct);
        }
        catch
        {
            Leave(workloadId, entry);
            throw;
        }
        return new Release(this, workloadId, entry);
    }

    private void Leave(string workloadId, Entry entry)
    {
        lock (held)
        {
            if (--entry.Users == 0)
            {
                held.Remove(workloadId);
            }
        }
    }

    private sealed class Entry
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public int Users { get; set; }
    }

    private sealed class Release(WorkloadLocks owner, string workloadId, Entry entry) : IDisposable
    {
        private int done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref done, 1) == 0)
            {
                entry.Gate.Release();
                owner.Leave(workloadId, entry);
            }
        }
    }
}
