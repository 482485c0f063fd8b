using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Options;

namespace KeelPortal.Data;

/// <summary>
/// Reads a mode (an enum setting such as <c>Data:Provider</c>) by its name, in any case. An unknown name becomes an
/// undefined value instead of an exception, so <see cref="ModesValidation{TOptions}"/> reports it at start together
/// with every other problem (the configuration binder would otherwise stop at the first). Numbers are not names.
/// </summary>
public sealed class ModeConverter<TEnum>() : EnumConverter(typeof(TEnum)) where TEnum : struct, Enum
{
    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text
            ? Enum.TryParse<TEnum>(text.Trim(), ignoreCase: true, out var mode) && Enum.IsDefined(mode) && !char.IsAsciiDigit(text.Trim().FirstOrDefault())
                ? mode
                : Enum.ToObject(typeof(TEnum), -1)
            : base.ConvertFrom(context, culture, value);

    public override object? ConvertTo(ITypeDescriptorContext? context, CultureInfo? culture, object? value, Type destinationType) =>
        value is TEnum mode && destinationType == typeof(string) ? Modes.Name(mode) : base.ConvertTo(context, culture, value, destinationType);
}

/// <summary>The modes of the portal's settings, by their names as configuration spells them (lower case).</summary>
public static class Modes
{
    public static string Name<TEnum>(TEnum mode) where TEnum : struct, Enum => mode.ToString().ToLowerInvariant();

    /// <summary>Validates every enum-typed setting of <typeparamref name="TOptions"/>, in one place for all of them.</summary>
    public static IServiceCollection AddModes<TOptions>(this IServiceCollection services, string section) where TOptions : class =>
        services.AddSingleton<IValidateOptions<TOptions>>(new ModesValidation<TOptions>(section));
}

/// <summary>
/// One validation for every mode: each enum-typed property of the options holds one of its names, else
/// "<c>Section:Key must be a, b or c.</c>".
/// </summary>
public sealed class ModesValidation<TOptions>(string section) : IValidateOptions<TOptions> where TOptions : class
{
    private static readonly PropertyInfo[] ModeProperties = [.. typeof(TOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => (Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType).IsEnum && p.CanWrite)];

    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var failures = new List<string>();
        foreach (var property in ModeProperties)
        {
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (property.GetValue(options) is { } value && !Enum.IsDefined(type, value))
            {
                var names = Enum.GetNames(type).Select(n => n.ToLowerInvariant()).ToList();
                failures.Add($"{section}:{property.Name} must be {string.Join(", ", names[..^1])} or {names[^1]}.");
            }
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
