using KeelPortal.Audit;
using KeelPortal.Data;
using KeelPortal.Tests.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Data;

[Collection(AppHosts.Name)]
public sealed class PortalContextsTests
{
    [Fact]
    public async Task Contexts_come_from_a_pool_and_go_back_clean_with_their_settings()
    {
        await using var portal = new PortalFactory();
        var contexts = portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        var seen = new HashSet<PortalDbContext>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < 50; i++)
        {
            await using var db = await contexts.CreateDbContextAsync();
            seen.Add(db);
            // Whatever one user left behind, the next one starts clean, with the portal's settings.
            Assert.False(db.Database.AutoSavepointsEnabled);
            Assert.Empty(db.ChangeTracker.Entries());
            db.Database.AutoSavepointsEnabled = true;
            db.Add(new AuditEntry { Actor = "test", Action = "test.tracked", Subject = "s", Details = "d" });
        }

        // Reused, not built anew each time (the portal's own services borrow from the same pool meanwhile).
        Assert.True(seen.Count < 50, $"{seen.Count} distinct contexts for 50 uses");
    }

    [Fact]
    public async Task A_scope_gets_a_context_of_the_configured_provider()
    {
        await using var portal = new PortalFactory();
        await using var scope = portal.Services.CreateAsyncScope();
        var scoped = scope.ServiceProvider.GetRequiredService<PortalDbContext>();

        Assert.Equal("Microsoft.EntityFrameworkCore.Sqlite", scoped.Database.ProviderName);
        Assert.True(await scoped.Database.CanConnectAsync());
        Assert.Same(scoped, scope.ServiceProvider.GetRequiredService<PortalDbContext>());
    }
}
