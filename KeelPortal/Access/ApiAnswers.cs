using Microsoft.AspNetCore.Http.HttpResults;

namespace KeelPortal.Access;

/// <summary>The answer of a KeelPortal API call that changed something: what it did, in a sentence.</summary>
public sealed record ApiMessage(string Message);

/// <summary>The API's answers that every slice's endpoints share.</summary>
public static class ApiAnswers
{
    /// <summary>A 400 problem naming the missing field and how to send it.</summary>
    public static ProblemHttpResult Missing(string what, string how) => TypedResults.Problem(statusCode: 400, title: $"Missing {what}", detail: how);

    public static Ok<ApiMessage> Done(string message) => TypedResults.Ok(new ApiMessage(message));
}
