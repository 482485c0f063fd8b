using System.Net;
using Microsoft.Extensions.Options;

namespace KeelPortal.Access;

/// <summary>Every <c>Access:TrustedProxies</c> entry must be an IP address or a CIDR network.</summary>
public sealed class TrustedProxiesValidation : IValidateOptions<AccessOptions>
{
    public ValidateOptionsResult Validate(string? name, AccessOptions options)
    {
        var errors = options.TrustedProxies.Select((entry, i) => (entry, i))
            .Where(e => !TryParse(e.entry, out _, out _))
            .Select(e => $"Access:TrustedProxies:{e.i}: '{e.entry}' is neither an IP address nor a CIDR network (such as 10.0.0.0/8)")
            .ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static bool TryParse(string? entry, out IPAddress? address, out IPNetwork network)
    {
        address = null;
        network = default;
        var text = entry?.Trim() ?? "";
        return text.Contains('/', StringComparison.Ordinal) ? IPNetwork.TryParse(text, out network) : IPAddress.TryParse(text, out address);
    }
}
