using System.Diagnostics.Metrics;
using KeelPortal.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.TestSupport;

/// <summary>The portal's instruments on a meter factory of their own, for code built outside a host.</summary>
public static class TestMetrics
{
    private static readonly ServiceProvider Services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public static PortalMetrics Create() => new(Services.GetRequiredService<IMeterFactory>());
}
