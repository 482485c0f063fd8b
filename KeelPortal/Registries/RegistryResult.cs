namespace KeelPortal.Registries;

public enum RegistryFailureKind
{
    AuthenticationFailed,
    NotFound,
    RateLimited,
    Unreachable,
    Tls,
    Timeout,
    ServerError,
    InvalidResponse,
}

/// <summary>Why a registry call failed, in words a person can act on. <see cref="RetryAfter"/> is set for rate limits.</summary>
public sealed record RegistryFailure(RegistryFailureKind Kind, string Reason, DateTimeOffset? RetryAfter = null)
{
    public override string ToString() => Reason;
}

/// <summary>A registry call's value, or the failure that stopped it. Registry calls never throw into jobs.</summary>
public readonly record struct RegistryResult<T>
{
    internal RegistryResult(T? value, RegistryFailure? failure)
    {
        Value = value;
        Failure = failure;
    }

    public T? Value { get; }
    public RegistryFailure? Failure { get; }
    public bool Succeeded => Failure is null;

    public static implicit operator RegistryResult<T>(RegistryFailure failure) => new(default, failure);

    public RegistryResult<TOut> Map<TOut>(Func<T, TOut> map) =>
        Failure is null ? RegistryResult.Ok(map(Value!)) : new RegistryResult<TOut>(default, Failure);

    public override string ToString() => Failure is null ? $"ok: {Value}" : $"failed: {Failure.Reason}";
}

public static class RegistryResult
{
    public static RegistryResult<T> Ok<T>(T value) => new(value, null);
}
