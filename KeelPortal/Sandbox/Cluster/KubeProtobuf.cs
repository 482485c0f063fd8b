using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace KeelPortal.Sandbox.Cluster;

/// <summary>
/// Decodes the protobuf bodies Helm's release storage sends (<c>application/vnd.kubernetes.protobuf</c>) into the JSON
/// the server stores: the <c>k8s\0</c> envelope (<c>runtime.Unknown</c>) around a Secret or ConfigMap. Only the fields
/// those two kinds carry are read; anything else is refused, never guessed.
/// </summary>
internal static class KubeProtobuf
{
    public const string ContentType = "application/vnd.kubernetes.protobuf";
    private static readonly byte[] Magic = "k8s\0"u8.ToArray();

    public static JsonObject Decode(ReadOnlySpan<byte> body)
    {
        if (!body.StartsWith(Magic))
        {
            throw new System.Text.Json.JsonException("a protobuf body must start with the k8s magic bytes");
        }
        string? apiVersion = null, kind = null;
        byte[]? raw = null;
        foreach (var (field, value) in Fields(body[Magic.Length..].ToArray()))
        {
            switch (field)
            {
                case 1:
                    foreach (var (f, v) in Fields(value.Bytes!))
                    {
                        if (f == 1) { apiVersion = v.Text; }
                        if (f == 2) { kind = v.Text; }
                    }
                    break;
                case 2:
                    raw = value.Bytes;
                    break;
            }
        }
        var obj = kind switch
        {
            "Secret" => Secret(raw ?? []),
            "ConfigMap" => ConfigMap(raw ?? []),
            _ => throw new System.Text.Json.JsonException($"protobuf bodies of kind {kind} are not supported by this server"),
        };
        obj["apiVersion"] = apiVersion;
        obj["kind"] = kind;
        return obj;
    }

    private static JsonObject Secret(byte[] raw)
    {
        var secret = new JsonObject();
        var data = new JsonObject();
        foreach (var (field, value) in Fields(raw))
        {
            switch (field)
            {
                case 1: secret["metadata"] = Metadata(value.Bytes!); break;
                case 2:
                    var (key, bytes) = Entry(value.Bytes!);
                    data[key] = Convert.ToBase64String(bytes);
                    break;
                case 3: secret["type"] = value.Text; break;
                case 5: secret["immutable"] = value.Number != 0; break;
            }
        }
        secret["data"] = data;
        return secret;
    }

    private static JsonObject ConfigMap(byte[] raw)
    {
        var map = new JsonObject();
        var data = new JsonObject();
        var binary = new JsonObject();
        foreach (var (field, value) in Fields(raw))
        {
            switch (field)
            {
                case 1: map["metadata"] = Metadata(value.Bytes!); break;
                case 2:
                    var (key, text) = Entry(value.Bytes!);
                    data[key] = Encoding.UTF8.GetString(text);
                    break;
                case 3:
                    var (binaryKey, bytes) = Entry(value.Bytes!);
                    binary[binaryKey] = Convert.ToBase64String(bytes);
                    break;
            }
        }
        map["data"] = data;
        if (binary.Count > 0)
        {
            map["binaryData"] = binary;
        }
        return map;
    }

    private static JsonObject Metadata(byte[] raw)
    {
        var metadata = new JsonObject();
        var labels = new JsonObject();
        var annotations = new JsonObject();
        foreach (var (field, value) in Fields(raw))
        {
            switch (field)
            {
                case 1: metadata["name"] = value.Text; break;
                case 2: metadata["generateName"] = value.Text; break;
                case 3: metadata["namespace"] = value.Text; break;
                case 5: metadata["uid"] = value.Text; break;
                case 6: metadata["resourceVersion"] = value.Text; break;
                case 7: metadata["generation"] = value.Number; break;
                case 11:
                    var (labelKey, label) = Entry(value.Bytes!);
                    labels[labelKey] = Encoding.UTF8.GetString(label);
                    break;
                case 12:
                    var (annotationKey, annotation) = Entry(value.Bytes!);
                    annotations[annotationKey] = Encoding.UTF8.GetString(annotation);
                    break;
            }
        }
        if (labels.Count > 0)
        {
            metadata["labels"] = labels;
        }
        if (annotations.Count > 0)
        {
            metadata["annotations"] = annotations;
        }
        if (metadata["resourceVersion"] is JsonValue rv && rv.GetValue<string>().Length == 0)
        {
            metadata.Remove("resourceVersion");
        }
        return metadata;
    }

    private static (string Key, byte[] Value) Entry(byte[] raw)
    {
        string key = "";
        byte[] value = [];
        foreach (var (field, v) in Fields(raw))
        {
            if (field == 1) { key = v.Text!; }
            if (field == 2) { value = v.Bytes!; }
        }
        return (key, value);
    }

    internal readonly record struct FieldValue(long Number, byte[]? Bytes)
    {
        public string? Text => Bytes is null ? null : Encoding.UTF8.GetString(Bytes);
    }

    /// <summary>The fields of one protobuf message: varints as numbers, length-delimited ones as bytes.</summary>
    internal static List<(int Field, FieldValue Value)> Fields(byte[] data)
    {
        var fields = new List<(int, FieldValue)>();
        var at = 0;
        while (at < data.Length)
        {
            var tag = Varint(data, ref at);
            var field = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0:
                    fields.Add((field, new FieldValue((long)Varint(data, ref at), null)));
                    break;
                case 2:
                    var length = (int)Varint(data, ref at);
                    fields.Add((field, new FieldValue(0, data[at..(at + length)])));
                    at += length;
                    break;
                case 1:
                    at += 8;
                    break;
                case 5:
                    at += 4;
                    break;
                default:
                    throw new System.Text.Json.JsonException(string.Create(CultureInfo.InvariantCulture, $"unsupported protobuf wire type {tag & 7}"));
            }
        }
        return fields;
    }

    private static ulong Varint(byte[] data, ref int at)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = data[at++];
            result |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }
        throw new System.Text.Json.JsonException("a protobuf varint is too long");
    }
}
