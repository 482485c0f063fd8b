namespace KeelPortal.Policies;

/// <summary>A tag with what a policy needs from it, read once: its version and its regexp sort key.</summary>
internal readonly record struct TagCandidate(string Tag, KeelVersion? Version, string? RegexKey, int Index);
