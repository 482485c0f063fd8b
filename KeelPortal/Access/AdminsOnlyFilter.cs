using Hangfire.Dashboard;

namespace KeelPortal.Access;

/// <summary>The job dashboard (<c>/hangfire</c>) is for signed-in administrators only.</summary>
public sealed class AdminsOnlyFilter : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context)
    {
        var user = context.GetHttpContext().User;
        return user.Identity?.IsAuthenticated == true && user.IsInRole(Roles.Admin);
    }
}
