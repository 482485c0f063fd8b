using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KeelPortal.Sandbox.Cluster;

/// <summary>A request as the server saw it, for counting what a client sent.</summary>
public sealed record KubeRequest(string Method, string Path, string? ContentType, string Body)
{
    /// <summary>The status it was answered with (0 while it is still being answered), so tests count requests by answer.</summary>
    public int Status { get; set; }
}

/// <summary>
/// An in-process Kubernetes API server on a loopback port speaking the real REST protocol (the sandbox's cluster and
/// the tests'; <c>kubectl</c> and <c>helm</c> prove it faithful): discovery, list with
/// limit/continue, get, create, replace and patch (strategic merge, merge, JSON) with resourceVersion conflicts,
/// delete, and watch (chunked JSON lines, 410 Gone after compaction, ERROR events). It has no controllers: a test
/// plays the controller with <see cref="SetStatus"/>, or <see cref="AutoRollout"/> finishes every rollout.
/// </summary>
public sealed partial class KubeApiServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<KubeRequest> requests = new();
    private readonly ConcurrentDictionary<(string Method, string Plural), ConcurrentQueue<(int Status, TimeSpan Delay)>> faults = new();
    private readonly CancellationTokenSource stopping = new();

    private KubeApiServer(int? port, TimeProvider time)
    {
        Store = new KubeStore(time);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port ?? 0}");
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.Run(HandleAsync);
    }

    public KubeStore Store { get; }

    public string Url { get; private set; } = "";

    public IReadOnlyList<KubeRequest> Requests => requests.ToArray();

    /// <summary>Called with the object's identity before each PATCH is applied (to change it under the client).</summary>
    public Action<KubeResource, string, string>? BeforePatch { get; set; }

    /// <summary>When set, every spec change of a Deployment, StatefulSet or DaemonSet is followed by a finished rollout.</summary>
    public bool AutoRollout { get; set; }

    /// <summary>With <see cref="AutoRollout"/>: a Deployment this says yes to (as it stands after the change) fails its rollout instead.</summary>
    public Func<JsonObject, bool>? RolloutFails { get; set; }

    /// <summary>With <see cref="AutoRollout"/>: told of each finished rollout (kind, namespace, name, the object, whether it succeeded).</summary>
    public Action<string, string, string, JsonObject, bool>? Rolled { get; set; }

    public static async Task<KubeApiServer> StartAsync(TimeProvider? time = null, int? port = null)
    {
        var server = new KubeApiServer(port, time ?? TimeProvider.System);
        await server.app.StartAsync();
        server.Url = ListeningAddress(server.app);
        return server;
    }

    /// <summary>The address a started server listens on (port 0 is bound first, then read back), such as <c>http://127.0.0.1:41237</c>.</summary>
    public static string ListeningAddress(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
    }

    /// <summary>Answers 403 to every request with this method on this resource, as RBAC does.</summary>
    public void Forbid(string method, string plural) => Fail(method, plural, 403, 1000);

    /// <summary>Answers <paramref name="status"/> to the next <paramref name="count"/> requests with this method on this resource.</summary>
    public void Fail(string method, string plural, int status, int count = 1)
    {
        var queue = faults.GetOrAdd((method, plural), _ => new());
        for (var i = 0; i < count; i++)
        {
            queue.Enqueue((status, TimeSpan.Zero));
        }
    }

    /// <summary>Holds the next <paramref name="count"/> such requests for <paramref name="delay"/> before answering them.</summary>
    public void Slow(string method, string plural, TimeSpan delay, int count = 1)
    {
        var queue = faults.GetOrAdd((method, plural), _ => new());
        for (var i = 0; i < count; i++)
        {
            queue.Enqueue((0, delay));
        }
    }

    public void ClearRequests() => requests.Clear();

    /// <summary>RBAC enforced for one token (the portal's); null: every request is allowed.</summary>
    public KubeRbac? Rbac { get; set; }

    /// <summary>The requests refused by <see cref="Rbac"/>, as "verb resource in namespace".</summary>
    public IReadOnlyList<string> Forbidden => forbidden.ToArray();

    private readonly ConcurrentQueue<string> forbidden = new();

    private static string Verb(HttpRequest request, bool collection) => request.Method switch
    {
        "GET" when collection && request.Query["watch"] is var w && (w == "true" || w == "1") => "watch",
        "GET" when collection => "list",
        "GET" => "get",
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" when collection => "deletecollection",
        "DELETE" => "delete",
        _ => request.Method.ToLowerInvariant(),
    };

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        Store.EndWatches();
        await app.DisposeAsync();
        stopping.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        string body;
        try
        {
            // Helm's release storage writes Secrets and ConfigMaps as protobuf; they are kept as JSON like everything else.
            body = (request.ContentType ?? "").StartsWith(KubeProtobuf.ContentType, StringComparison.Ordinal)
                ? KubeProtobuf.Decode(buffer.ToArray()).ToJsonString()
                : Encoding.UTF8.GetString(buffer.ToArray());
        }
        catch (JsonException e)
        {
            await StatusAsync(context, 400, "BadRequest", e.Message);
            return;
        }
        var recorded = new KubeRequest(request.Method, request.Path + request.QueryString, request.ContentType, body);
        requests.Enqueue(recorded);
        context.Response.OnStarting(() =>
        {
            recorded.Status = context.Response.StatusCode;
            return Task.CompletedTask;
        });
        try
        {
            await RouteAsync(context, body);
        }
        catch (NotFoundException e)
        {
            await StatusAsync(context, 404, "NotFound", e.Message);
        }
        catch (AlreadyExistsException e)
        {
            await StatusAsync(context, 409, "AlreadyExists", e.Message);
        }
        catch (ConflictException e)
        {
            await StatusAsync(context, 409, "Conflict", e.Message);
        }
        catch (PatchConflictException e)
        {
            await StatusAsync(context, 422, "Invalid", e.Message);
        }
        catch (InvalidPatchException e)
        {
            await StatusAsync(context, 422, "Invalid", e.Message);
        }
        catch (JsonException e)
        {
            await StatusAsync(context, 400, "BadRequest", e.Message);
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            await StatusAsync(context, 500, "InternalError", e.ToString());
        }
    }

    private async Task RouteAsync(HttpContext context, string body)
    {
        var path = context.Request.Path.Value!.Trim('/');
        var parts = path.Split('/');
        switch (path)
        {
            case "version":
                await JsonAsync(context, 200, new JsonObject { ["major"] = "1", ["minor"] = "32", ["gitVersion"] = "v1.32.0", ["platform"] = "linux/amd64" });
                return;
            case "api":
                await JsonAsync(context, 200, new JsonObject { ["kind"] = "APIVersions", ["versions"] = new JsonArray("v1"), ["serverAddressByClientCIDRs"] = new JsonArray() });
                return;
            case "apis":
                await JsonAsync(context, 200, Discovery.Groups());
                return;
        }
        if (path == "openapi/v3")
        {
            await JsonAsync(context, 200, KubeOpenApi.Index());
            return;
        }
        if (parts is ["openapi", "v3", .. var documentPath] && KubeOpenApi.Document(string.Join('/', documentPath)) is { } document)
        {
            await JsonAsync(context, 200, document);
            return;
        }
        if (parts is ["api", var coreVersion])
        {
            await JsonAsync(context, 200, Discovery.Resources("", coreVersion));
            return;
        }
        if (parts is ["apis", var group, var groupVersion])
        {
            await JsonAsync(context, 200, Discovery.Resources(group, groupVersion));
            return;
        }
        if (!TryParseResourcePath(parts, out var target))
        {
            await StatusAsync(context, 404, "NotFound", $"the server could not find the requested resource ({path})");
            return;
        }
        if (await RefusedAsync(context, target))
        {
            return;
        }
        await HandleResourceAsync(context, target, body);
    }

    /// <summary>Answers what RBAC forbids, or an injected fault, and says so; a slowed request is only held.</summary>
    private async Task<bool> RefusedAsync(HttpContext context, ResourcePath target)
    {
        if (Rbac is { } rbac && context.Request.Headers.Authorization.ToString() == $"Bearer {rbac.Token}")
        {
            var verb = Verb(context.Request, target.Name is null);
            var resource = target.Subresource is null ? target.Resource.Plural : $"{target.Resource.Plural}/{target.Subresource}";
            if (!rbac.Allows(verb, target.Resource.Group, resource, target.Namespace))
            {
                var where = target.Namespace is null ? "at the cluster scope" : $"in the namespace \"{target.Namespace}\"";
                forbidden.Enqueue($"{verb} {resource} {where}");
                await StatusAsync(context, 403, "Forbidden",
                    $"{resource} is forbidden: User \"system:serviceaccount:keel:keelportal\" cannot {verb} resource \"{resource}\" in API group \"{target.Resource.Group}\" {where}");
                return true;
            }
        }
        if (faults.TryGetValue((context.Request.Method, target.Resource.Plural), out var queue) && queue.TryDequeue(out var fault))
        {
            await Task.Delay(fault.Delay, context.RequestAborted);
            if (fault.Status == 403)
            {
                await StatusAsync(context, 403, "Forbidden",
                    $"{target.Resource.Plural} is forbidden: User \"system:serviceaccount:keel:keelportal\" cannot {context.Request.Method.ToLowerInvariant()} resource \"{target.Resource.Plural}\"");
                return true;
            }
            if (fault.Status != 0)
            {
                await StatusAsync(context, fault.Status, "InternalError", $"an error on the server (injected {fault.Status})");
                return true;
            }
        }
        return false;
    }

    private async Task HandleResourceAsync(HttpContext context, ResourcePath target, string body)
    {
        var (resource, ns, name, subresource) = target;
        var method = context.Request.Method;
        var query = context.Request.Query;
        if (name is null && method == "GET")
        {
            if (query["watch"] is var watch && (watch == "true" || watch == "1"))
            {
                await WatchAsync(context, resource, ns);
                return;
            }
            await JsonAsync(context, 200, ListBody(context, resource, ns));
            return;
        }
        if (name is null && method == "POST")
        {
            var created = Store.Create(resource, ns ?? "", JsonNode.Parse(body)!.AsObject());
            await JsonAsync(context, 201, created);
            return;
        }
        if (name is null)
        {
            await StatusAsync(context, 405, "MethodNotAllowed", $"{method} is not supported on a collection");
            return;
        }
        var key = ns ?? "";
        switch (method)
        {
            case "GET" when resource.Plural == "pods" && subresource == "log":
                await LogAsync(context, key, name);
                return;
            case "GET":
                await JsonAsync(context, 200, Store.Get(resource, key, name) ?? throw new NotFoundException($"{resource.Plural} \"{name}\" not found"));
                return;
            case "PUT":
                var replacement = JsonNode.Parse(body)!.AsObject();
                await JsonAsync(context, 200, Store.Update(resource, key, name, _ => replacement, statusOnly: subresource == "status"));
                return;
            case "PATCH":
                BeforePatch?.Invoke(resource, key, name);
                var patched = Store.Update(resource, key, name, current => ApplyPatch(current, context.Request.ContentType, body), statusOnly: subresource == "status");
                await JsonAsync(context, 200, patched);
                FollowWithRollout(resource, key, name);
                return;
            case "DELETE":
                Store.Delete(resource, key, name);
                await JsonAsync(context, 200, new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Success" });
                return;
            default:
                await StatusAsync(context, 405, "MethodNotAllowed", $"{method} is not supported");
                return;
        }
    }

    private static JsonObject ApplyPatch(JsonObject current, string? contentType, string body)
    {
        var type = (contentType ?? "").Split(';')[0].Trim();
        return type switch
        {
            "application/strategic-merge-patch+json" => Patches.Merge(current, JsonNode.Parse(body), strategic: true)!.AsObject(),
            "application/merge-patch+json" => Patches.Merge(current, JsonNode.Parse(body), strategic: false)!.AsObject(),
            "application/json-patch+json" => Patches.ApplyJsonPatch(current, JsonNode.Parse(body)!.AsArray()).AsObject(),
            _ => throw new InvalidPatchException($"the patch type {type} is not supported"),
        };
    }

    private JsonObject ListBody(HttpContext context, KubeResource resource, string? ns)
    {
        var offset = context.Request.Query["continue"] is { Count: > 0 } token ? int.Parse(token!, CultureInfo.InvariantCulture) : 0;
        var limit = int.TryParse(context.Request.Query["limit"], out var l) && l > 0 ? l : int.MaxValue;
        var (page, revision, total) = Store.List(resource, ns,
            o => Selectors.Match(o, context.Request.Query["labelSelector"], context.Request.Query["fieldSelector"]), offset, limit);
        var metadata = new JsonObject { ["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture) };
        if (offset + page.Count < total)
        {
            metadata["continue"] = (offset + page.Count).ToString(CultureInfo.InvariantCulture);
        }
        foreach (var item in page)
        {
            // Real servers leave kind and apiVersion off list items.
            item.Remove("kind");
            item.Remove("apiVersion");
        }
        return new JsonObject
        {
            ["kind"] = resource.Kind + "List",
            ["apiVersion"] = resource.GroupVersion,
            ["metadata"] = metadata,
            ["items"] = new JsonArray([.. page]),
        };
    }
}
