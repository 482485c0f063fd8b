using MudBlazor;

namespace KeelPortal.Components.Layout;

internal static class PortalTheme
{
    public static readonly MudTheme Theme = new()
    {
        // Status colours darker than MudBlazor's defaults, so chips, alerts and text buttons reach WCAG AA contrast (4.5:1).
        PaletteLight = new PaletteLight
        {
            Primary = "#1565C0",
            Secondary = "#AD1457",
            AppbarBackground = "#0D47A1",
            Success = "#1B7D3A",
            Error = "#C62828",
            Warning = "#A85D00",
            Info = "#0B66B0",
        },
        PaletteDark = new PaletteDark { Primary = "#64B5F6" },
        Typography = new Typography
        {
            Default = new DefaultTypography { FontFamily = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"] },
        },
    };
}
