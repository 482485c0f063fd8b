using System.Collections.Immutable;

namespace KeelPortal.Data;

/// <summary>
/// In-process publish/subscribe for "something changed" messages (records): jobs and watchers publish, pages and
/// trackers subscribe and dispose their subscription when they go away. Handlers must be quick; a failing handler is
/// logged and never stops the others or the publisher.
/// </summary>
public sealed partial class EventHub(ILogger<EventHub> logger)
{
    private ImmutableList<(Type Type, Action<object> Handler)> handlers = [];

    public IDisposable Subscribe<T>(Action<T> handler)
    {
        var entry = (typeof(T), (Action<object>)(o => handler((T)o)));
        ImmutableInterlocked.Update(ref handlers, list => list.Add(entry));
        return new Subscription(() => ImmutableInterlocked.Update(ref handlers, list => list.Remove(entry)));
    }

    /// <summary>Whether anyone here listens for messages of <paramref name="type"/> (so reading one is worth it).</summary>
    public bool Wants(Type type) => handlers.Exists(h => h.Type.IsAssignableFrom(type));

    public void Publish<T>(T message) where T : notnull
    {
        foreach (var (type, handler) in handlers)
        {
            if (type.IsInstanceOfType(message))
            {
                try
                {
                    handler(message);
                }
#pragma warning disable CA1031 // One subscriber's bug must not break the publisher or the other subscribers.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    LogHandlerFailed(e, typeof(T).Name);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A subscriber to {Message} failed")]
    private partial void LogHandlerFailed(Exception exception, string message);

    private sealed class Subscription(Action dispose) : IDisposable
    {
        private Action? dispose = dispose;

        public void Dispose() => Interlocked.Exchange(ref dispose, null)?.Invoke();
    }
}
