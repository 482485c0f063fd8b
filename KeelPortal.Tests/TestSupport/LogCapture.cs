using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Tests.TestSupport;

/// <summary>Keeps every log line a host writes, so tests can assert what an operator would read.</summary>
public sealed class LogCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<(LogLevel Level, string Category, string Message)> lines = new();
    private readonly ConcurrentQueue<(string Message, IReadOnlyDictionary<string, object?> Scope)> scoped = new();
    private IExternalScopeProvider? scopes;

    /// <summary>Every line with the properties of the logging scopes it was written in (job id, approval id…).</summary>
    public IReadOnlyList<(string Message, IReadOnlyDictionary<string, object?> Scope)> ScopedLines => scoped.ToArray();

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

    public IReadOnlyList<(LogLevel Level, string Category, string Message)> Lines => lines.ToArray();

    public string AllText => string.Join('\n', lines.Select(l => l.Message));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner.scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception) + (exception is null ? "" : "\n" + exception);
            owner.lines.Enqueue((logLevel, category, message));
            var scope = new Dictionary<string, object?>(StringComparer.Ordinal);
            owner.scopes?.ForEachScope((value, into) =>
            {
                if (value is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    foreach (var (key, item) in pairs)
                    {
                        into[key] = item;
                    }
                }
            }, scope);
            owner.scoped.Enqueue((message, scope));
        }
    }
}
