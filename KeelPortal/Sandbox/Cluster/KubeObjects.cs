using System.Text;
using System.Text.Json.Nodes;

namespace KeelPortal.Sandbox.Cluster;

/// <summary>Manifests for the sandbox and the tests, shaped as kubectl would send them.</summary>
public static class KubeObjects
{
    public static JsonObject Workload(
        string kind, string ns, string name,
        IReadOnlyDictionary<string, string>? labels = null,
        IReadOnlyDictionary<string, string>? annotations = null,
        (string Name, string Image)[]? containers = null,
        (string Name, string Image)[]? initContainers = null,
        int replicas = 2)
    {
        var selector = new JsonObject { ["app"] = name };
        var podSpec = new JsonObject
        {
            ["containers"] = Containers(containers ?? [("app", "nginx:1.25.0")]),
            ["restartPolicy"] = kind == "CronJob" ? "OnFailure" : "Always",
        };
        if (initContainers is not null)
        {
            podSpec["initContainers"] = Containers(initContainers);
        }
        var template = new JsonObject
        {
            ["metadata"] = new JsonObject { ["labels"] = selector.DeepClone() },
            ["spec"] = podSpec,
        };
        JsonObject spec = kind switch
        {
            "CronJob" => new JsonObject
            {
                ["schedule"] = "*/5 * * * *",
                ["jobTemplate"] = new JsonObject { ["spec"] = new JsonObject { ["template"] = template } },
            },
            "DaemonSet" => new JsonObject { ["selector"] = new JsonObject { ["matchLabels"] = selector }, ["template"] = template },
            _ => new JsonObject { ["replicas"] = replicas, ["selector"] = new JsonObject { ["matchLabels"] = selector }, ["template"] = template },
        };
        if (kind == "StatefulSet")
        {
            spec["serviceName"] = name;
        }
        return new JsonObject
        {
            ["apiVersion"] = kind == "CronJob" ? "batch/v1" : "apps/v1",
            ["kind"] = kind,
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = Map(labels), ["annotations"] = Map(annotations) },
            ["spec"] = spec,
        };
    }

    public static JsonObject Pod(string ns, string name, string app, string node, params (string Container, string Image, string ImageId)[] statuses) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = new JsonObject { ["app"] = app } },
        ["spec"] = new JsonObject { ["nodeName"] = node, ["containers"] = Containers([.. statuses.Select(s => (s.Container, s.Image))]) },
        ["status"] = new JsonObject
        {
            ["phase"] = "Running",
            ["containerStatuses"] = new JsonArray([.. statuses.Select(s => (JsonNode)new JsonObject
            {
                ["name"] = s.Container, ["image"] = s.Image, ["imageID"] = s.ImageId, ["ready"] = true, ["restartCount"] = 0,
            })]),
        },
    };

    /// <summary>
    /// A pod as a real API server sends it: managed fields, owner, a full spec (environment, probes, resources, volumes),
    /// conditions and container state.
    /// </summary>
    public static JsonObject FullPod(string ns, string name, string app, string node, string container, string image, string imageId) => JsonNode.Parse($$"""
        {
          "apiVersion": "v1", "kind": "Pod",
          "metadata": {
            "name": "{{name}}", "namespace": "{{ns}}", "uid": "0b6c1c7e-5f6e-4c7a-9a43-7f2d9e1b0c5a", "resourceVersion": "42",
            "labels": { "app": "{{app}}", "pod-template-hash": "7d9f8b6c5" },
            "annotations": { "prometheus.io/scrape": "true", "prometheus.io/port": "9090" },
            "ownerReferences": [ { "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "{{app}}-7d9f8b6c5", "uid": "5d1f0a4e-8c1b-4f57-b7d4-2a9c3e6f1d08", "controller": true, "blockOwnerDeletion": true } ],
            "managedFields": [ { "manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": "2026-11-30T10:00:00Z", "fieldsType": "FieldsV1",
              "fieldsV1": { "f:metadata": { "f:labels": { ".": {}, "f:app": {}, "f:pod-template-hash": {} }, "f:ownerReferences": { ".": {} } },
                "f:spec": { "f:containers": { "k:{\"name\":\"{{container}}\"}": { ".": {}, "f:env": {}, "f:image": {}, "f:name": {}, "f:ports": {}, "f:resources": {} } } } } },
              { "manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": "2026-11-30T10:00:05Z", "fieldsType": "FieldsV1", "subresource": "status",
              "fieldsV1": { "f:status": { "f:conditions": {}, "f:containerStatuses": {}, "f:hostIP": {}, "f:phase": {}, "f:podIP": {}, "f:startTime": {} } } } ]
          },
          "spec": {
            "nodeName": "{{node}}", "serviceAccountName": "{{app}}", "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
            "terminationGracePeriodSeconds": 30, "enableServiceLinks": true, "priority": 0,
            "containers": [ {
              "name": "{{container}}", "image": "{{image}}", "imagePullPolicy": "IfNotPresent",
              "env": [ { "name": "DATABASE_URL", "value": "postgres://db.{{ns}}.svc:5432/{{app}}" }, { "name": "LOG_LEVEL", "value": "info" },
                { "name": "POD_NAME", "valueFrom": { "fieldRef": { "apiVersion": "v1", "fieldPath": "metadata.name" } } } ],
              "ports": [ { "containerPort": 8080, "name": "http", "protocol": "TCP" }, { "containerPort": 9090, "name": "metrics", "protocol": "TCP" } ],
              "resources": { "limits": { "memory": "512Mi" }, "requests": { "cpu": "250m", "memory": "256Mi" } },
              "readinessProbe": { "httpGet": { "path": "/healthz", "port": 8080, "scheme": "HTTP" }, "periodSeconds": 5, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3 },
              "livenessProbe": { "httpGet": { "path": "/livez", "port": 8080, "scheme": "HTTP" }, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3 },
              "volumeMounts": [ { "name": "config", "mountPath": "/etc/{{app}}" }, { "name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true } ],
              "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"
            } ],
            "volumes": [ { "name": "config", "configMap": { "name": "{{app}}-config", "defaultMode": 420 } },
              { "name": "kube-api-access", "projected": { "defaultMode": 420, "sources": [ { "serviceAccountToken": { "expirationSeconds": 3607, "path": "token" } },
                { "configMap": { "name": "kube-root-ca.crt", "items": [ { "key": "ca.crt", "path": "ca.crt" } ] } } ] } } ],
            "tolerations": [ { "key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300 },
              { "key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300 } ]
          },
          "status": {
            "phase": "Running", "podIP": "10.0.0.12", "hostIP": "192.168.1.4", "qosClass": "Burstable", "startTime": "2026-11-30T10:00:00Z",
            "conditions": [ { "type": "Initialized", "status": "True", "lastTransitionTime": "2026-11-30T10:00:00Z" },
              { "type": "Ready", "status": "True", "lastTransitionTime": "2026-11-30T10:00:05Z" },
              { "type": "ContainersReady", "status": "True", "lastTransitionTime": "2026-11-30T10:00:05Z" },
              { "type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-11-30T10:00:00Z" } ],
            "containerStatuses": [ {
              "name": "{{container}}", "ready": true, "restartCount": 0, "started": true, "image": "{{image}}", "imageID": "{{imageId}}",
              "containerID": "containerd://4f1e9c2b7a3d", "state": { "running": { "startedAt": "2026-11-30T10:00:01Z" } }
            } ]
          }
        }
        """)!.AsObject();

    /// <summary>
    /// The workload as <c>kubectl apply</c> and a real team leave it: its whole manifest again in kubectl's
    /// last-applied annotation, and containers with environment, mounts and resources beside a volume.
    /// </summary>
    public static JsonObject Applied(JsonObject workload)
    {
        workload["metadata"]!["annotations"]!["kubectl.kubernetes.io/last-applied-configuration"] = workload.ToJsonString();
        var podSpec = workload["spec"]!["template"]!["spec"]!;
        foreach (var container in podSpec["containers"]!.AsArray())
        {
            container!["env"] = new JsonArray(
                new JsonObject { ["name"] = "DATABASE_URL", ["value"] = "postgres://db:5432/shop" },
                new JsonObject { ["name"] = "LOG_LEVEL", ["value"] = "info" });
            container["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "config", ["mountPath"] = "/etc/app" });
            container["resources"] = new JsonObject { ["requests"] = new JsonObject { ["cpu"] = "250m", ["memory"] = "256Mi" } };
        }
        podSpec["volumes"] = new JsonArray(new JsonObject { ["name"] = "config", ["configMap"] = new JsonObject { ["name"] = "app-config" } });
        return workload;
    }

    /// <summary>A release Secret as Helm writes it: the release JSON gzipped and base64-encoded, labelled for lookups.</summary>
    public static JsonObject HelmReleaseSecret(JsonObject release, string ns, string name, int revision, string status)
    {
        var copy = (JsonObject)release.DeepClone();
        copy["name"] = name;
        copy["namespace"] = ns;
        copy["version"] = revision;
        copy["info"] ??= new JsonObject();
        copy["info"]!["status"] = status;
        using var packed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(packed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(copy.ToJsonString()));
        }
        var payload = Convert.ToBase64String(packed.ToArray());
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["type"] = "helm.sh/release.v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = $"sh.helm.release.v1.{name}.v{revision}",
                ["namespace"] = ns,
                ["labels"] = new JsonObject { ["name"] = name, ["owner"] = "helm", ["status"] = status, ["version"] = revision.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            },
            ["data"] = new JsonObject { ["release"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(payload)) },
        };
    }

    public static JsonObject Node(string name, string os = "linux", string arch = "amd64", string? variant = null)
    {
        var labels = new JsonObject { ["kubernetes.io/os"] = os, ["kubernetes.io/arch"] = arch };
        if (variant is not null)
        {
            labels["kubernetes.io/arch-variant"] = variant;
        }
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Node",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = labels },
            ["status"] = new JsonObject { ["nodeInfo"] = new JsonObject { ["operatingSystem"] = os, ["architecture"] = arch } },
        };
    }

    public static JsonObject PullSecret(string ns, string name, string registry, string user, string password)
    {
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
        var config = new JsonObject { ["auths"] = new JsonObject { [registry] = new JsonObject { ["auth"] = auth } } }.ToJsonString();
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["type"] = "kubernetes.io/dockerconfigjson",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["data"] = new JsonObject { [".dockerconfigjson"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(config)) },
        };
    }

    public static JsonObject Namespace(string name) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = name },
    };

    private static JsonArray Containers((string Name, string Image)[] containers) =>
        new([.. containers.Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name, ["image"] = c.Image, ["imagePullPolicy"] = "IfNotPresent",
            ["ports"] = new JsonArray(new JsonObject { ["containerPort"] = 8080, ["protocol"] = "TCP" }),
            ["env"] = new JsonArray(new JsonObject { ["name"] = "MODE", ["value"] = "production" }),
        })]);

    private static JsonObject Map(IReadOnlyDictionary<string, string>? values) =>
        new(values?.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)) ?? []);
}
