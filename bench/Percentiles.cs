namespace KeelPortal.Bench;

/// <summary>Prints p50, p95 and max of a set of timings (nearest-rank percentiles).</summary>
public static class Percentiles
{
    public static void Report(string what, List<double> samples, string format = "0")
    {
        samples.Sort();
        double At(double q) => samples[Math.Min(samples.Count - 1, (int)Math.Ceiling(q * samples.Count) - 1)];
        Console.WriteLine($"{what}: n={samples.Count} p50={At(0.50).ToString(format, System.Globalization.CultureInfo.InvariantCulture)} ms " +
            $"p95={At(0.95).ToString(format, System.Globalization.CultureInfo.InvariantCulture)} ms max={samples[^1].ToString(format, System.Globalization.CultureInfo.InvariantCulture)} ms");
    }
}
