using KeelPortal.Audit;
using KeelPortal.Components;
using KeelPortal.Data;
using KeelPortal.Health;
using KeelPortal.Jobs;
using KeelPortal.Registries;
using KeelPortal.Workloads;

var builder = WebApplication.CreateBuilder(args);

builder.AddPortalShell();
builder.AddData();
builder.AddAudit();
builder.AddRegistries();
builder.AddWorkloads();
builder.AddJobs();
builder.AddHealth();

var app = builder.Build();

return app.RunPortal(static app =>
{
    app.UsePortalShell();
    app.MapHealth();
    app.MapJobs();
    app.MapPortalShell();
});

/// <summary>Entry point, visible to the test host.</summary>
public partial class Program;
