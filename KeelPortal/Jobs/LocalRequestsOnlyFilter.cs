using System.Net;
using Hangfire.Dashboard;

namespace KeelPortal.Jobs;

/// <summary>
/// Lets only requests from this machine into the Hangfire dashboard. Unlike Hangfire's own filter it
/// accepts connections that have no network address at all (the in-memory test host, Unix sockets),
/// which cannot come from another machine.
/// </summary>
internal sealed class LocalRequestsOnlyFilter : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context) => IsLocal(context.GetHttpContext().Connection);

    internal static bool IsLocal(ConnectionInfo connection)
    {
        var remote = connection.RemoteIpAddress;
        if (remote is null)
        {
            return connection.LocalIpAddress is null;
        }
        return IPAddress.IsLoopback(remote) || remote.Equals(connection.LocalIpAddress);
    }
}
