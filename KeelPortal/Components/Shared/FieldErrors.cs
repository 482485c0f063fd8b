namespace KeelPortal.Components;

/// <summary>
/// A form's errors, one per field, all at once: each shows beside its field (<see cref="Has"/>, <see cref="Of"/>), a
/// summary says how many need a fix, and focus moves to the first wrong field in the form's order.
/// </summary>
public sealed class FieldErrors
{
    private Dictionary<string, string> errors = new(StringComparer.Ordinal);

    public int Count => errors.Count;

    public bool Has(string field) => errors.ContainsKey(field);

    public string? Of(string field) => errors.GetValueOrDefault(field);

    /// <summary>What to say under the form: nothing when every field is right.</summary>
    public string? Summary => errors.Count switch
    {
        0 => null,
        1 => "One field needs a fix: see beside it.",
        var n => $"{n} fields need a fix: see beside each.",
    };

    /// <summary>How to focus a field of the form (null while it is not shown).</summary>
    public static Func<ValueTask>? Focus<T>(MudBlazor.MudBaseInput<T>? field) => field is null ? null : field.FocusAsync;

    public void Clear() => errors = new(StringComparer.Ordinal);

    /// <summary>Takes every field's error (none: the form is right) and moves focus to the first wrong field, in <paramref name="order"/>.</summary>
    /// <param name="fields">Each wrong field's key and why.</param>
    /// <param name="order">The form's fields top to bottom: each key with how to focus it (null when it is not shown).</param>
    public async Task ShowAsync(IReadOnlyDictionary<string, string>? fields, params (string Field, Func<ValueTask>? Focus)[] order)
    {
        errors = fields is null ? new(StringComparer.Ordinal) : new(fields, StringComparer.Ordinal);
        if (order.FirstOrDefault(f => errors.ContainsKey(f.Field) && f.Focus is not null).Focus is { } focus)
        {
            await focus();
        }
    }
}
