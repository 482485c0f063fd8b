namespace KeelPortal.Approvals;

public static class ApprovalsSetup
{
    public static WebApplicationBuilder AddApprovals(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ApprovalBook>();
        builder.Services.AddSingleton<ApprovalGate>();
        builder.Services.AddSingleton<Telemetry.IPortalGauges, ApprovalGauges>();
        builder.Services.Configure<Data.OutboxTypes>(t => t.Add<ApprovalChanged>().Add<ApprovalProposed>().Add<ApprovalApproved>());
        return builder;
    }

    public static WebApplication MapApprovals(this WebApplication app)
    {
        app.MapKeelApi();
        return app;
    }
}
