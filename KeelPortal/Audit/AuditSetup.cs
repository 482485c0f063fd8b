namespace KeelPortal.Audit;

public static class AuditSetup
{
    public static WebApplicationBuilder AddAudit(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AuditTrail>();
        builder.Services.AddSingleton<Data.IDeadLetterWitness, DeadLetterAudit>();
        return builder;
    }
}
