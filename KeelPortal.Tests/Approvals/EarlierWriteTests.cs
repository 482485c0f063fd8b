using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Approvals;

/// <summary>
/// What a later attempt of an apply, finding the workload past its target, can tell about an earlier attempt's write:
/// landed (a later update started from the target), unsettled (a later update is still being applied, so the version it
/// replaced is not recorded yet), or none.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class EarlierWriteTests
{
    private static Proposal Update(string to, string? rollbackBy = null) => new("deployment/shop/web", "registry.example/shop/web", "1.0.0", to, null,
        [new ImageUpdate("app", $"registry.example/shop/web:{to}")], 1, TimeSpan.FromHours(1), "test", rollbackBy);

    [Fact]
    public async Task A_retried_apply_learns_from_the_later_update_whether_its_earlier_write_landed()
    {
        await using var portal = new PortalFactory();
        var book = portal.Services.GetRequiredService<ApprovalBook>();
        var contexts = portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        async Task SetAsync(long id, ApprovalState state, int attempts, string? current = null)
        {
            await using var db = await contexts.CreateDbContextAsync();
            await db.Set<Approval>().Where(a => a.Id == id).ExecuteUpdateAsync(s => s.SetProperty(a => a.State, state)
                .SetProperty(a => a.ApplyAttempts, attempts).SetProperty(a => a.CurrentVersion, a => current ?? a.CurrentVersion));
        }
        var first = (await book.ProposeAsync(Update("1.1.0"), _ => true)).ApprovalId!.Value;
        await SetAsync(first, ApprovalState.Applying, attempts: 2);
        var retried = (await book.GetAsync(first))!;

        // Nothing later: the workload moved on by other hands.
        Assert.Equal(EarlierWrite.None, await book.EarlierWriteAsync(retried));

        // A later update is being applied, proposed while 1.0.0 seemed to run: which version it replaces is not known yet.
        var next = (await book.ProposeAsync(Update("1.2.0"), _ => true)).ApprovalId!.Value;
        await SetAsync(next, ApprovalState.Applying, attempts: 1);
        Assert.Equal(EarlierWrite.Unsettled, await book.EarlierWriteAsync(retried));

        // It ended, recording that it replaced 1.1.0: the earlier attempt's write landed.
        await SetAsync(next, ApprovalState.Applied, attempts: 1, current: "1.1.0");
        Assert.Equal(EarlierWrite.Landed, await book.EarlierWriteAsync(retried));

        // A first attempt has no earlier write, and a rollback's target ran before by definition.
        Assert.Equal(EarlierWrite.None, await book.EarlierWriteAsync(Copy(retried, attempts: 1)));
        Assert.Equal(EarlierWrite.None, await book.EarlierWriteAsync(Copy(retried, attempts: 2, rollbackBy: "alice")));
    }

    private static Approval Copy(Approval approval, int attempts, string? rollbackBy = null) => new()
    {
        Id = approval.Id, Identifier = approval.Identifier, WorkloadId = approval.WorkloadId, Repository = approval.Repository,
        CurrentVersion = approval.CurrentVersion, NewVersion = approval.NewVersion, ImagesJson = approval.ImagesJson, Message = approval.Message,
        ApplyAttempts = attempts, RollbackBy = rollbackBy,
    };
}
