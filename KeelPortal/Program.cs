using KeelPortal.Access;
using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Chat;
using KeelPortal.Components;
using KeelPortal.Data;
using KeelPortal.Delivery;
using KeelPortal.Health;
using KeelPortal.Helm;
using KeelPortal.Jobs;
using KeelPortal.Notifications;
using KeelPortal.Registries;
using KeelPortal.Telemetry;
using KeelPortal.Triggers;
using KeelPortal.Updates;
using KeelPortal.Workloads;
#if SANDBOX
using KeelPortal.Sandbox;
#endif

// "backup <folder> [settings…]" is a command; what follows the folder are settings as usual. "--sandbox" is a flag.
var sandbox = args.Contains("--sandbox");
var builder = WebApplication.CreateBuilder(args is ["backup", _, .. var settings] ? settings : [.. args.Where(a => a != "--sandbox")]);

#if SANDBOX
builder.AddSandbox(sandbox);
#else
if (sandbox || builder.Configuration.GetValue<bool>("Sandbox:Enabled"))
{
    await Console.Error.WriteLineAsync("This build has no sandbox (it was built with -p:Sandbox=false, as the container image is): run it from the source with dotnet run -- --sandbox.");
    return 2;
}
#endif
builder.AddPortalShell();
builder.AddData();
builder.AddAudit();
builder.AddAccess();
builder.AddRegistries();
builder.AddWorkloads();
builder.AddHelm();
builder.AddApprovals();
builder.AddUpdates();
builder.AddDelivery();
builder.AddTriggers();
builder.AddNotifications();
builder.AddChat();
builder.AddJobs();
builder.AddHealth();
builder.AddTelemetry();

if (args is ["backup", var target, ..])
{
    return DataBackup.Run(builder.Configuration, builder.Environment.ContentRootPath, target, Console.Out);
}

var app = builder.Build();

return app.RunPortal(static app =>
{
    app.UseEdgeSecurity();
    app.UsePortalShell();
    app.UseAccess();
    app.MapHealth();
    app.MapTelemetry();
    app.MapAccess();
    app.MapJobs();
    app.MapTriggers();
    app.MapApprovals();
    app.MapUpdates();
    app.MapDelivery();
    app.MapChat();
    app.MapAudit();
#if SANDBOX
    app.MapSandbox();
#endif
    app.MapPortalShell();
});

/// <summary>Entry point, visible to the test host.</summary>
public partial class Program;
