using Hangfire;
using Hangfire.Storage.SQLite;
using Microsoft.Extensions.Options;

namespace KeelPortal.Jobs;

public static class JobsSetup
{
    public static WebApplicationBuilder AddJobs(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<JobsOptions>()
            .BindConfiguration(JobsOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // Our own storage singleton, created on first use, so each host gets its own instead of Hangfire's
        // process-wide JobStorage.Current (AddHangfire only adds one when none is registered).
        var contentRoot = builder.Environment.ContentRootPath;
        builder.Services.AddSingleton<JobStorage>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<JobsOptions>>().Value;
            var data = sp.GetRequiredService<IOptions<Data.DataOptions>>().Value;
            if (data.IsPostgres)
            {
                // Every replica shares the queue in the portal's database (schema hangfire); a job runs on one of them.
                var postgres = new Hangfire.PostgreSql.PostgreSqlStorageOptions
                {
                    QueuePollInterval = options.PostgresQueuePollInterval, EnableLongPolling = true, PrepareSchemaIfNecessary = true,
                    InvisibilityTimeout = options.InvisibilityTimeout, UseSlidingInvisibilityTimeout = true,
                };
                return new Hangfire.PostgreSql.PostgreSqlStorage(new Hangfire.PostgreSql.Factories.NpgsqlConnectionFactory(data.ConnectionString, postgres), postgres);
            }
            var path = Data.DataSetup.ResolvePath(options.StoragePath, contentRoot);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            return new SQLiteStorage(path, new SQLiteStorageOptions { QueuePollInterval = options.QueuePollInterval });
        });
        builder.Services.AddSingleton<JobLogScope>();
        builder.Services.AddSingleton<Hangfire.Common.IJobFilterProvider, HostJobFilters>();
        builder.Services.AddHangfire(config => config
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings());
        builder.Services.AddHangfireServer((sp, server) =>
        {
            var options = sp.GetRequiredService<IOptions<JobsOptions>>().Value;
            server.WorkerCount = options.WorkerCount;
            server.SchedulePollingInterval = options.SchedulePollingInterval;
            server.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}";
        });
        return builder;
    }

    public static WebApplication MapJobs(this WebApplication app)
    {
        app.MapHangfireDashboard("/hangfire", new DashboardOptions
        {
            // Who may open it is the access slice's to say (it registers the filter).
            Authorization = app.Services.GetServices<Hangfire.Dashboard.IDashboardAuthorizationFilter>().ToArray(),
            DashboardTitle = "KeelPortal jobs",
            AppPath = "/",
        });
        return app;
    }
}
