using System.Security.Claims;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace KeelPortal.Access;

/// <summary>
/// An open console (a Blazor circuit) keeps the principal it started with; this re-reads the account at once when any
/// replica changes it (<see cref="AccountChanged"/>), and every <see cref="AccessOptions.SessionRevalidation"/> besides.
/// A removed or locked account, or one whose sessions were ended (sign-out), becomes anonymous; a changed role
/// replaces the principal, so pages re-render with the new rights.
/// </summary>
public sealed partial class SessionRevalidation : ServerAuthenticationStateProvider, IDisposable
{
    private readonly IServiceScopeFactory scopes;
    private readonly TimeProvider time;
    private readonly TimeSpan interval;
    private readonly ILogger<SessionRevalidation> logger;
    private readonly ClaimsIdentityOptions claims;
    private readonly CancellationTokenSource stop = new();
    private readonly SemaphoreSlim wake = new(0, 1);
    private readonly IDisposable subscription;
    private volatile string? userId;
    private int started;

    public SessionRevalidation(
        IServiceScopeFactory scopes, IOptions<AccessOptions> options, IOptions<IdentityOptions> identity, Data.EventHub events, TimeProvider time,
        ILogger<SessionRevalidation> logger)
    {
        this.scopes = scopes;
        claims = identity.Value.ClaimsIdentity;
        this.time = time;
        this.logger = logger;
        interval = options.Value.SessionRevalidation;
        AuthenticationStateChanged += OnChanged;
        subscription = events.Subscribe<AccountChanged>(changed =>
        {
            if (changed.UserId == userId && wake.CurrentCount == 0)
            {
                try
                {
                    wake.Release();
                }
                catch (Exception e) when (e is SemaphoreFullException or ObjectDisposedException)
                {
                    // Another change woke it a moment ago (one re-read covers both), or the circuit just closed.
                }
            }
        });
    }

    private void OnChanged(Task<AuthenticationState> state)
    {
        if (Interlocked.Exchange(ref started, 1) == 0)
        {
            _ = RevalidateLoopAsync(stop.Token);
        }
    }

    private async Task RevalidateLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            // The account id that AccountChanged names.
            userId = (await GetAuthenticationStateAsync()).User.FindFirstValue(claims.UserIdClaimType);
            var tick = timer.WaitForNextTickAsync(ct).AsTask();
            var woken = wake.WaitAsync(ct);
            while (true)
            {
                if (await Task.WhenAny(tick, woken) == tick)
                {
                    if (!await tick)
                    {
                        return;
                    }
                    tick = timer.WaitForNextTickAsync(ct).AsTask();
                }
                else
                {
                    await woken;
                    woken = wake.WaitAsync(ct);
                }
                await CheckAsync();
            }
        }
        catch (OperationCanceledException)
        {
            // The circuit closed.
        }
    }

    private async Task CheckAsync()
    {
        try
        {
            var current = (await GetAuthenticationStateAsync()).User;
            if (current.Identity?.IsAuthenticated != true)
            {
                return;
            }
            var fresh = await ReadAsync(current);
            if (fresh is null)
            {
                LogEnded(current.Identity.Name);
                SetAuthenticationState(Task.FromResult(new AuthenticationState(new ClaimsPrincipal(new ClaimsIdentity()))));
            }
            else if (!SameRoles(current, fresh))
            {
                LogRolesChanged(current.Identity.Name);
                SetAuthenticationState(Task.FromResult(new AuthenticationState(fresh)));
            }
        }
#pragma warning disable CA1031 // A failed check must not take the circuit down or end its checks; the next one tries again.
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            LogFailed(e);
        }
    }

    /// <summary>The account's principal as it is now, or null when the session no longer stands.</summary>
    private async Task<ClaimsPrincipal?> ReadAsync(ClaimsPrincipal principal)
    {
        using var scope = scopes.CreateScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<IdentityUser>>();
        var user = principal.FindFirstValue(claims.UserIdClaimType) is { } id ? await users.FindByIdAsync(id) : null;
        if (user is null || await users.IsLockedOutAsync(user))
        {
            return null;
        }
        if (users.SupportsUserSecurityStamp && principal.FindFirstValue(claims.SecurityStampClaimType) != await users.GetSecurityStampAsync(user))
        {
            return null;
        }
        return await scope.ServiceProvider.GetRequiredService<IUserClaimsPrincipalFactory<IdentityUser>>().CreateAsync(user);
    }

    private static bool SameRoles(ClaimsPrincipal a, ClaimsPrincipal b) =>
        a.FindAll(ClaimTypes.Role).Select(c => c.Value).Order(StringComparer.Ordinal)
            .SequenceEqual(b.FindAll(ClaimTypes.Role).Select(c => c.Value).Order(StringComparer.Ordinal));

    public void Dispose()
    {
        AuthenticationStateChanged -= OnChanged;
        subscription.Dispose();
        stop.Cancel();
        stop.Dispose();
        wake.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The console session of {User} ended: the account was removed, locked or signed out")]
    private partial void LogEnded(string? user);

    [LoggerMessage(Level = LogLevel.Information, Message = "The role of {User} changed; the open console follows it")]
    private partial void LogRolesChanged(string? user);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Re-checking a console session failed; trying again at the next interval")]
    private partial void LogFailed(Exception exception);
}
