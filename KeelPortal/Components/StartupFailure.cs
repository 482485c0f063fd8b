using Microsoft.Extensions.Options;

namespace KeelPortal.Components;

public static partial class StartupFailure
{
    /// <summary>
    /// Validates every option first, then maps the slices and runs the portal. When the configuration is invalid it
    /// logs every problem (each naming its key) in one message and exits with code 2 instead of a stack trace.
    /// </summary>
    /// <remarks>Validation comes before mapping because some slices (the jobs dashboard) read options while mapping.</remarks>
    public static int RunPortal(this WebApplication app, Action<WebApplication> map)
    {
        try
        {
            app.Services.GetService<IStartupValidator>()?.Validate();
            map(app);
            app.Run();
            return 0;
        }
        catch (Exception ex) when (Problems(ex) is { Count: > 0 } problems)
        {
            var list = string.Join(Environment.NewLine, problems.Select(p => "  - " + p));
            LogInvalid(app.Logger, problems.Count, list);
            // Disposing flushes the console logger, which writes on a background thread.
            ((IDisposable)app).Dispose();
            return 2;
        }
    }

    /// <summary>Every option validation failure inside an exception, or none when it is about something else.</summary>
    public static IReadOnlyList<string> Problems(Exception ex) => ex switch
    {
        OptionsValidationException validation => validation.Failures.ToList(),
        AggregateException aggregate when aggregate.InnerExceptions.All(e => e is OptionsValidationException) =>
            aggregate.InnerExceptions.SelectMany(Problems).ToList(),
        _ => [],
    };

    [LoggerMessage(Level = LogLevel.Critical, Message = "KeelPortal cannot start: the configuration has {Count} problem(s):\n{Problems}")]
    private static partial void LogInvalid(ILogger logger, int count, string problems);
}
