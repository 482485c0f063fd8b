using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// Test servers bind port 0 and read back the port Kestrel chose: a port picked by probing could be taken by another
/// process before it is bound (two copies of the suite on one machine, for example).
/// </summary>
public static class Loopback
{
    public const string AnyPort = "http://127.0.0.1:0";

    /// <summary>The address a started server listens on, such as <c>http://127.0.0.1:41237</c>.</summary>
    public static string Address(IServiceProvider services) =>
        services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');

    public static string Address(WebApplication app) => KeelPortal.Sandbox.Cluster.KubeApiServer.ListeningAddress(app);
}
