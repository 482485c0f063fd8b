using Hangfire.Dashboard;
using KeelPortal.Access;

namespace KeelPortal.Jobs;

/// <summary>The Hangfire dashboard is for signed-in administrators only.</summary>
internal sealed class AdminsOnlyFilter : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context)
    {
        var user = context.GetHttpContext().User;
        return user.Identity?.IsAuthenticated == true && user.IsInRole(Roles.Admin);
    }
}
