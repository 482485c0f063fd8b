using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace KeelPortal.Sandbox.Cluster;

/// <summary>One change as a watch delivers it.</summary>
public sealed record KubeEvent(long Revision, KubeResource Resource, string Namespace, string Type, JsonObject Value);

/// <summary>
/// The API server's storage: objects by resource, namespace and name with one cluster-wide resourceVersion
/// counter, an event history that can be compacted (watches from before it get 410 Gone), and live subscribers.
/// </summary>
public sealed class KubeStore(TimeProvider time)
{
    private readonly Lock gate = new();
    private readonly Dictionary<(KubeResource, string, string), JsonObject> objects = [];
    private readonly List<KubeEvent> history = [];
    private readonly List<Channel<KubeEvent>> subscribers = [];
    private long revision = 100;
    private long compactedThrough;

    public long Revision
    {
        get
        {
            lock (gate)
            {
                return revision;
            }
        }
    }

    public JsonObject? Get(KubeResource resource, string ns, string name)
    {
        lock (gate)
        {
            return objects.TryGetValue((resource, ns, name), out var o) ? (JsonObject)o.DeepClone() : null;
        }
    }

    /// <summary>
    /// A page of the objects matching <paramref name="filter"/>, sorted by namespace and name, the revision the list
    /// is consistent with, and how many matched in all. Only the page is copied.
    /// </summary>
    public (List<JsonObject> Items, long Revision, int Total) List(KubeResource resource, string? ns, Func<JsonObject, bool> filter, int offset, int limit)
    {
        lock (gate)
        {
            var matching = objects.Where(o => o.Key.Item1 == resource && (ns is null || o.Key.Item2 == ns) && filter(o.Value))
                .OrderBy(o => o.Key.Item2, StringComparer.Ordinal).ThenBy(o => o.Key.Item3, StringComparer.Ordinal)
                .Select(o => o.Value).ToList();
            var page = matching.Skip(offset).Take(limit).Select(o => (JsonObject)o.DeepClone()).ToList();
            return (page, revision, matching.Count);
        }
    }

    public JsonObject Create(KubeResource resource, string ns, JsonObject body)
    {
        lock (gate)
        {
            var metadata = body["metadata"]?.AsObject() ?? throw new InvalidPatchException("metadata is required");
            var name = metadata["name"]?.GetValue<string>() ?? throw new InvalidPatchException("metadata.name is required");
            if (objects.ContainsKey((resource, ns, name)))
            {
                throw new AlreadyExistsException($"{resource.Plural} \"{name}\" already exists");
            }
            var created = (JsonObject)body.DeepClone();
            created["kind"] = resource.Kind;
            created["apiVersion"] = resource.GroupVersion;
            var meta = created["metadata"]!.AsObject();
            if (resource.Namespaced)
            {
                meta["namespace"] = ns;
            }
            meta["uid"] = Guid.NewGuid().ToString();
            meta["generation"] = 1L;
            meta["creationTimestamp"] = time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            return Commit(resource, ns, name, created, "ADDED");
        }
    }

    /// <summary>
    /// Replaces an object with the result of <paramref name="change"/>: a stale <c>metadata.resourceVersion</c> in the
    /// result is a conflict, a change of anything but status moves the generation, and a no-op changes nothing.
    /// </summary>
    public JsonObject Update(KubeResource resource, string ns, string name, Func<JsonObject, JsonObject> change, bool statusOnly = false)
    {
        lock (gate)
        {
            if (!objects.TryGetValue((resource, ns, name), out var current))
            {
                throw new NotFoundException($"{resource.Plural} \"{name}\" not found");
            }
            var next = change((JsonObject)current.DeepClone());
            var sent = next["metadata"]?["resourceVersion"]?.GetValue<string>();
            var currentVersion = current["metadata"]!["resourceVersion"]!.GetValue<string>();
            if (sent is not null && sent != currentVersion)
            {
                throw new ConflictException($"Operation cannot be fulfilled on {resource.Plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
            }
            if (statusOnly)
            {
                var status = next["status"]?.DeepClone();
                next = (JsonObject)current.DeepClone();
                next["status"] = status;
            }
            else if (current["status"] is { } status)
            {
                next["status"] = status.DeepClone();
            }
            else
            {
                next.Remove("status");
            }
            next["metadata"]!["resourceVersion"] = currentVersion;
            next["metadata"]!["generation"] = current["metadata"]!["generation"]?.DeepClone();
            // As a real server: identity and server-set fields come from the stored object, not from the body
            // (Helm's replacements of its release Secrets carry neither namespace nor uid).
            foreach (var key in new[] { "namespace", "uid", "creationTimestamp" })
            {
                next["metadata"]![key] = current["metadata"]![key]?.DeepClone();
            }
            next["kind"] = current["kind"]?.DeepClone();
            next["apiVersion"] = current["apiVersion"]?.DeepClone();
            if (JsonNode.DeepEquals(next, current))
            {
                return (JsonObject)current.DeepClone();
            }
            if (!statusOnly && !JsonNode.DeepEquals(next["spec"], current["spec"]))
            {
                next["metadata"]!["generation"] = (current["metadata"]!["generation"]?.GetValue<long>() ?? 0) + 1;
            }
            return Commit(resource, ns, name, next, "MODIFIED");
        }
    }

    public void Delete(KubeResource resource, string ns, string name)
    {
        lock (gate)
        {
            if (!objects.Remove((resource, ns, name), out var current))
            {
                throw new NotFoundException($"{resource.Plural} \"{name}\" not found");
            }
            revision++;
            current["metadata"]!["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture);
            Publish(new KubeEvent(revision, resource, ns, "DELETED", current));
        }
    }

    /// <summary>Forgets the history up to now: a watch from an older resourceVersion gets 410 Gone.</summary>
    public void Compact()
    {
        lock (gate)
        {
            compactedThrough = revision;
            history.Clear();
        }
    }

    /// <summary>
    /// The events after <paramref name="fromRevision"/> and a channel for the ones to come, or null when that
    /// revision is older than the history kept (410 Gone).
    /// </summary>
    public (IReadOnlyList<KubeEvent> Backlog, Channel<KubeEvent> Live)? Subscribe(long fromRevision)
    {
        lock (gate)
        {
            if (fromRevision < compactedThrough)
            {
                return null;
            }
            var live = Channel.CreateUnbounded<KubeEvent>();
            subscribers.Add(live);
            return (history.Where(e => e.Revision > fromRevision).ToList(), live);
        }
    }

    public void Unsubscribe(Channel<KubeEvent> live)
    {
        lock (gate)
        {
            subscribers.Remove(live);
        }
    }

    /// <summary>Ends every open watch, as an API server restart or a load balancer timeout does.</summary>
    public int EndWatches()
    {
        lock (gate)
        {
            var count = subscribers.Count;
            foreach (var subscriber in subscribers)
            {
                subscriber.Writer.TryComplete();
            }
            subscribers.Clear();
            return count;
        }
    }

    public int WatchCount
    {
        get
        {
            lock (gate)
            {
                return subscribers.Count;
            }
        }
    }

    private JsonObject Commit(KubeResource resource, string ns, string name, JsonObject value, string type)
    {
        revision++;
        value["metadata"]!["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture);
        objects[(resource, ns, name)] = value;
        Publish(new KubeEvent(revision, resource, ns, type, (JsonObject)value.DeepClone()));
        return (JsonObject)value.DeepClone();
    }

    private void Publish(KubeEvent change)
    {
        history.Add(change);
        foreach (var subscriber in subscribers)
        {
            subscriber.Writer.TryWrite(change);
        }
    }
}

public sealed class NotFoundException(string message) : Exception(message);

public sealed class AlreadyExistsException(string message) : Exception(message);

public sealed class ConflictException(string message) : Exception(message);
