namespace KeelPortal.Policies;

public enum VerdictKind
{
    /// <summary>The policy lets this tag replace the current one.</summary>
    Eligible,
    /// <summary>The same tag or version as the one running.</summary>
    Current,
    Older,
    PreReleaseDiffers,
    OtherMajor,
    OtherMinor,
    NotAVersion,
    CurrentNotAVersion,
    NoMatch,
    /// <summary>force + matchTag follows one tag only.</summary>
    OtherTag,
    NotTracked,
    WrongPlatform,
    PlatformUnknown,
}

/// <summary>
/// Why a candidate tag may or may not replace the current one. The reason text is built on demand, so ranking
/// thousands of tags costs no strings until someone reads them.
/// </summary>
public sealed class TagVerdict
{
    internal TagVerdict(TagCandidate candidate, VerdictKind kind, TagCandidate current, string policy, string? detail = null)
    {
        Candidate = candidate;
        Kind = kind;
        CurrentCandidate = current;
        Policy = policy;
        Detail = detail;
    }

    /// <summary>The tag as read for ranking (version, regexp key, registry position).</summary>
    internal TagCandidate Candidate { get; }

    internal TagCandidate CurrentCandidate { get; }

    public string Tag => Candidate.Tag;
    public VerdictKind Kind { get; }
    public string Current => CurrentCandidate.Tag;
    public string Policy { get; }

    /// <summary>Kind-specific detail: why a tag is eligible, the missing platforms, a lookup error.</summary>
    public string? Detail { get; }

    public bool Eligible => Kind == VerdictKind.Eligible;

    public string Reason => Kind switch
    {
        VerdictKind.Eligible => $"{Tag} is eligible: {Detail ?? "newer than " + Current} (policy {Policy})",
        VerdictKind.Current => Tag == Current ? $"{Tag} is the current tag" : $"{Tag} skipped: same version as current {Current}",
        VerdictKind.Older => $"{Tag} skipped: older than {Current}",
        VerdictKind.PreReleaseDiffers =>
            $"{Tag} skipped: pre-release '{Candidate.Version?.PreRelease}' differs from current '{CurrentCandidate.Version?.PreRelease}'",
        VerdictKind.OtherMajor => $"{Tag} skipped: major version differs from current {Current} (policy {Policy})",
        VerdictKind.OtherMinor => $"{Tag} skipped: major.minor differs from current {Current} (policy {Policy})",
        VerdictKind.NotAVersion => $"{Tag} skipped: not a version ({Detail})",
        VerdictKind.CurrentNotAVersion => $"{Tag} skipped: the current tag {Current} is not a version, so policy {Policy} cannot compare",
        VerdictKind.NoMatch => $"{Tag} skipped: does not match {Policy}{(Detail is null ? "" : " (" + Detail + ")")}",
        VerdictKind.OtherTag => $"{Tag} skipped: policy force with matchTag follows only tag {Current}",
        VerdictKind.NotTracked => $"{Tag} skipped: the workload is not tracked (policy {Policy})",
        VerdictKind.WrongPlatform => $"{Tag} skipped: no image for {Detail}, where the workload runs",
        VerdictKind.PlatformUnknown => $"{Tag} skipped: its platforms could not be read ({Detail})",
        _ => $"{Tag}: {Kind}",
    };

    internal TagVerdict With(VerdictKind kind, string? detail) => new(Candidate, kind, CurrentCandidate, Policy, detail);

    public override string ToString() => Reason;
}
