using MudBlazor;

namespace KeelPortal.Components.Layout;

internal static class PortalTheme
{
    public static readonly MudTheme Theme = new()
    {
        PaletteLight = new PaletteLight { Primary = "#1565C0", AppbarBackground = "#0D47A1" },
        PaletteDark = new PaletteDark { Primary = "#64B5F6" },
        Typography = new Typography
        {
            Default = new DefaultTypography { FontFamily = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"] },
        },
    };
}
