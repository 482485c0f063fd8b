using Microsoft.AspNetCore.Components.Authorization;

namespace KeelPortal.Access;

/// <summary>
/// The console's administrator actions ask this at the moment they act: an open page may still show the buttons for
/// a few seconds after a demotion, but the change is refused.
/// </summary>
public sealed class AdminCheck(AccountService accounts)
{
    public const string Refusal = "You are no longer an administrator: the change was not made.";

    /// <summary>The signed-in person's name when they hold the Admin role now, read from the database; else null.</summary>
    public async Task<string?> NameAsync(Task<AuthenticationState> authentication)
    {
        var name = (await authentication).User.Identity?.Name;
        return name is not null && await accounts.CurrentRoleAsync(name) == Roles.Admin ? name : null;
    }

    /// <summary>The acting administrator for a console action, or null after telling the person why the change was not made.</summary>
    public async Task<string?> ActorAsync(Task<AuthenticationState> authentication, MudBlazor.ISnackbar snackbar)
    {
        var actor = await NameAsync(authentication);
        if (actor is null)
        {
            snackbar.Add(Refusal, MudBlazor.Severity.Error);
        }
        return actor;
    }
}
