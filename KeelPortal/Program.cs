using KeelPortal.Access;
using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Components;
using KeelPortal.Data;
using KeelPortal.Health;
using KeelPortal.Helm;
using KeelPortal.Jobs;
using KeelPortal.Notifications;
using KeelPortal.Registries;
using KeelPortal.Triggers;
using KeelPortal.Updates;
using KeelPortal.Workloads;

var builder = WebApplication.CreateBuilder(args);

builder.AddPortalShell();
builder.AddData();
builder.AddAudit();
builder.AddAccess();
builder.AddRegistries();
builder.AddWorkloads();
builder.AddHelm();
builder.AddApprovals();
builder.AddUpdates();
builder.AddTriggers();
builder.AddNotifications();
builder.AddJobs();
builder.AddHealth();

var app = builder.Build();

return app.RunPortal(static app =>
{
    app.UseEdgeSecurity();
    app.UsePortalShell();
    app.UseAccess();
    app.MapHealth();
    app.MapAccess();
    app.MapJobs();
    app.MapTriggers();
    app.MapApprovals();
    app.MapAudit();
    app.MapPortalShell();
});

/// <summary>Entry point, visible to the test host.</summary>
public partial class Program;
