using KeelPortal.Data;
using Microsoft.AspNetCore.Components;

namespace KeelPortal.Components;

/// <summary>
/// A page that reloads when events it declares arrive (<see cref="Watch{T}"/>). Reloads run through
/// <see cref="ComponentBase.InvokeAsync(Func{Task})"/>, a burst of events costs at most one reload running and one
/// queued behind it, and a failing reload goes to the error boundary instead of being lost.
/// </summary>
public abstract class LivePage : ComponentBase, IDisposable
{
    private readonly List<IDisposable> subscriptions = [];
    private int state; // 0 idle, 1 reloading, 2 reloading and another one wanted

    [Inject] private EventHub Events { get; set; } = null!;

    /// <summary>Reads the page's data again; called on the renderer's context, followed by a render.</summary>
    protected abstract Task ReloadAsync();

    /// <summary>Reloads the page whenever a <typeparamref name="T"/> arrives that <paramref name="matters"/> (all by default).</summary>
    protected void Watch<T>(Func<T, bool>? matters = null) =>
        subscriptions.Add(Events.Subscribe<T>(message =>
        {
            if (matters?.Invoke(message) ?? true)
            {
                Reload();
            }
        }));

    /// <summary>Asks for a reload from any thread.</summary>
    protected void Reload()
    {
        if (Interlocked.Increment(ref state) > 1)
        {
            Interlocked.Exchange(ref state, 2);
            return;
        }
        _ = InvokeAsync(async () =>
        {
            do
            {
                Interlocked.Exchange(ref state, 1);
                try
                {
                    await ReloadAsync();
                    StateHasChanged();
                }
                catch (Exception e)
                {
                    Interlocked.Exchange(ref state, 0);
                    await DispatchExceptionAsync(e);
                    return;
                }
            }
            while (Interlocked.CompareExchange(ref state, 0, 1) != 1);
        });
    }

    public virtual void Dispose()
    {
        subscriptions.ForEach(s => s.Dispose());
        GC.SuppressFinalize(this);
    }
}
