using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace KeelPortal.Access;

/// <summary>Creates the roles, and the first administrator from configuration when there is no account yet.</summary>
public sealed partial class AccessSeeder(IServiceScopeFactory scopes, IOptions<AccessOptions> options, ILogger<AccessSeeder> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var scope = scopes.CreateScope();
        var roles = scope.ServiceProvider.GetRequiredService<RoleManager<IdentityRole>>();
        foreach (var role in Roles.All)
        {
            if (!await roles.RoleExistsAsync(role))
            {
                await roles.CreateAsync(new IdentityRole(role));
            }
        }
        var users = scope.ServiceProvider.GetRequiredService<UserManager<IdentityUser>>();
        var admin = options.Value.Admin;
        if (users.Users.Any())
        {
            return;
        }
        if (string.IsNullOrWhiteSpace(admin.UserName) || string.IsNullOrEmpty(admin.Password))
        {
            LogSetupNeeded();
            return;
        }
        var user = new IdentityUser(admin.UserName.Trim());
        var created = await users.CreateAsync(user, admin.Password);
        if (!created.Succeeded)
        {
            LogAdminRefused(admin.UserName, string.Join(" ", created.Errors.Select(e => e.Description)));
            return;
        }
        await users.AddToRoleAsync(user, Roles.Admin);
        LogAdminCreated(admin.UserName);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "No account exists yet: open /setup in the console to create the first administrator, or set Access:Admin:UserName and Access:Admin:Password")]
    private partial void LogSetupNeeded();

    [LoggerMessage(Level = LogLevel.Information, Message = "Created the first administrator {UserName} from Access:Admin")]
    private partial void LogAdminCreated(string userName);

    [LoggerMessage(Level = LogLevel.Error, Message = "The administrator {UserName} from Access:Admin was not created: {Reason}")]
    private partial void LogAdminRefused(string userName, string reason);
}
