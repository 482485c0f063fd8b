using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace KeelPortal.Components;

/// <summary>Tells the person who ran <c>dotnet run</c> which address to open.</summary>
internal sealed partial class StartupBanner(
    IServer server, IHostApplicationLifetime lifetime, ILogger<StartupBanner> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            foreach (var address in addresses)
            {
                var url = Browsable(address);
                LogOpen(logger, url);
            }
        });
        return Task.CompletedTask;
    }

    /// <summary>Turns a wildcard listen address into one a browser on this machine can open.</summary>
    internal static string Browsable(string address) => address
        .Replace("[::]", "localhost", StringComparison.Ordinal)
        .Replace("0.0.0.0", "localhost", StringComparison.Ordinal)
        .Replace("://+", "://localhost", StringComparison.Ordinal)
        .Replace("://*", "://localhost", StringComparison.Ordinal);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "KeelPortal is ready: open {Url} in your browser")]
    private static partial void LogOpen(ILogger logger, string url);
}
