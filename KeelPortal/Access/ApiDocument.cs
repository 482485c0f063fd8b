using Microsoft.OpenApi;

namespace KeelPortal.Access;

/// <summary>
/// The OpenAPI document of the <c>/v1</c> API (Keel's endpoints and KeelPortal's own), served at
/// <c>/openapi/v1.json</c>. It describes shapes only, so it is open like Keel's own API description would be; every
/// call it describes still needs its token or Basic credentials.
/// </summary>
public static class ApiDocument
{
    public const string Name = "v1";

    public static IServiceCollection AddApiDocument(this IServiceCollection services) => services.AddOpenApi(Name, o =>
    {
        o.ShouldInclude = d => d.RelativePath?.StartsWith("v1/", StringComparison.Ordinal) == true;
        o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "KeelPortal API",
                Version = "v1",
                Description = "Keel's /v1 API (approvals, resources, tracked images, webhooks) and KeelPortal's extensions (holds, skips, "
                    + "rollbacks, windows, freezes, chat links). Authenticate with a personal API token (Bearer) or Basic credentials.",
            };
            // The servers a request came in on are not part of the API's shape.
            document.Servers = [];
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
            {
                ["token"] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer", Description = "A personal API token (console: Account)" },
                ["basic"] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "basic", Description = "A portal account's name and password" },
            };
            return Task.CompletedTask;
        });
        // Every refusal is a problem details body; the document says so once per operation rather than per status code.
        o.AddOperationTransformer((operation, _, _) =>
        {
            operation.Responses ??= [];
            operation.Responses["default"] = new OpenApiResponse
            {
                Description = "Refused: a problem details body (RFC 9457) whose title and detail say what was wrong — 400 or 422 bad input, "
                    + "401 not signed in, 403 not allowed, 404 unknown, 409 nothing changed, 413 too large, 503 stopping",
                Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new() },
            };
            return Task.CompletedTask;
        });
    });

    public static WebApplication MapApiDocument(this WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        return app;
    }
}
