using ScottPlot;
using ScottPlot.TickGenerators;

namespace OlmoeSharp.Cli.Experts;

/// <summary>
/// The experts command's pictures (ScottPlot, rendered through SkiaSharp): one PNG per analysis, shares in percent,
/// a dashed line where perfectly uniform routing would put them.
/// </summary>
internal static class ExpertCharts
{
    private const int PanelWidth = 520, PanelHeight = 300;
    private static readonly Color Uniform = Colors.Black.WithAlpha(0.6);
    private static readonly Color TopK = new(0x1f, 0x77, 0xb4), TopOne = new(0xff, 0x7f, 0x0e);

    /// <summary>load.png: one bar chart per layer, each expert's share of the layer's top-k assignments.</summary>
    public static void Load(ExpertFindings f, string path)
    {
        int columns = Math.Min(4, f.Layers), rows = (f.Layers + columns - 1) / columns;
        double top = 0;
        for (int l = 0; l < f.Layers; l++)
            for (int e = 0; e < f.NumExperts; e++) top = Math.Max(top, 100 * f.Load.Share(l, e));
        var multiplot = Grid(f.Layers, rows, columns);
        for (int l = 0; l < f.Layers; l++)
        {
            var plot = multiplot.GetPlot(l);
            var bars = plot.Add.Bars(Enumerable.Range(0, f.NumExperts).Select(e => 100 * f.Load.Share(l, e)).ToArray());
            bars.Color = TopK;
            foreach (var bar in bars.Bars) bar.LineWidth = 0;
            UniformLine(plot, 100.0 / f.NumExperts);
            plot.Title($"layer {l}", size: 14);
            ExpertTicks(plot.Axes.Bottom, f.NumExperts);
            plot.Axes.SetLimits(-0.7, f.NumExperts - 0.3, 0, top * 1.1);
            plot.XLabel("expert", size: 12);
            plot.YLabel("% of assignments", size: 12);
        }
        multiplot.SavePng(path, columns * PanelWidth, rows * PanelHeight);
    }

    /// <summary>coactivation.png: per pictured layer, P(column expert chosen | row expert chosen) for every pair.</summary>
    public static void CoActivation(ExpertFindings f, string path)
    {
        var layers = f.PictureLayers;
        var multiplot = Grid(layers.Count, 1, layers.Count);
        for (int i = 0; i < layers.Count; i++)
        {
            int l = layers[i], n = f.NumExperts;
            var values = new double[n, n];
            double max = 0;
            for (int a = 0; a < n; a++)
                for (int b = 0; b < n; b++)
                {
                    // The diagonal (always 1) and never-chosen rows (undefined) are left blank, so the colours span the pairs.
                    values[a, b] = a == b || f.CoActivation.Chosen(l, a) == 0 ? double.NaN : 100 * f.CoActivation.Probability(l, a, b);
                    if (!double.IsNaN(values[a, b])) max = Math.Max(max, values[a, b]);
                }
            var plot = multiplot.GetPlot(i);
            var heatmap = plot.Add.Heatmap(values);
            heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
            heatmap.ManualRange = new ScottPlot.Range(0, Math.Max(max, 1));
            heatmap.NaNCellColor = Colors.LightGray;
            var bar = plot.Add.ColorBar(heatmap);
            bar.Label = "P(b | a), %";
            bar.LabelStyle.FontSize = 12;
            plot.Title($"layer {l}", size: 14);
            ExpertTicks(plot.Axes.Bottom, n);
            ExpertTicks(plot.Axes.Left, n, flipped: true);
            plot.XLabel("expert b (also chosen)", size: 12);
            plot.YLabel("expert a (chosen)", size: 12);
            plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        }
        multiplot.SavePng(path, layers.Count * 560, 520);
    }

    /// <summary>domains.png: per pictured layer, each input's (domain's) share of assignments per expert.</summary>
    public static void Domains(ExpertFindings f, string path)
    {
        var layers = f.PictureLayers;
        int inputs = f.Routings.Count, n = f.NumExperts;
        double max = 0;
        foreach (int l in layers)
            foreach (var load in f.LoadPerInput)
                for (int e = 0; e < n; e++) max = Math.Max(max, 100 * load.Share(l, e));
        var multiplot = Grid(layers.Count, layers.Count, 1);
        for (int i = 0; i < layers.Count; i++)
        {
            int l = layers[i];
            var values = new double[inputs, n];
            for (int d = 0; d < inputs; d++)
                for (int e = 0; e < n; e++) values[d, e] = 100 * f.LoadPerInput[d].Share(l, e);
            var plot = multiplot.GetPlot(i);
            var heatmap = plot.Add.Heatmap(values);
            heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
            heatmap.ManualRange = new ScottPlot.Range(0, max); // one scale for all layers, so they compare
            var bar = plot.Add.ColorBar(heatmap);
            bar.Label = "share, %";
            bar.LabelStyle.FontSize = 12;
            plot.Title($"layer {l} (uniform: {100.0 / n:0.##}%)", size: 14);
            ExpertTicks(plot.Axes.Bottom, n);
            var names = new NumericManual();
            for (int d = 0; d < inputs; d++) names.AddMajor(inputs - 1 - d, Shorten(f.Routings[d].Name));
            plot.Axes.Left.TickGenerator = names;
            plot.XLabel("expert", size: 12);
            plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, inputs - 0.5);
        }
        multiplot.SavePng(path, 1400, layers.Count * (110 + 34 * inputs));
    }

    /// <summary>saturation.png: per layer, the share of the final checkpoint's top-k (and top-1) the other picks too.</summary>
    public static void Saturation(ExpertFindings f, string path)
    {
        var saturation = f.Saturation!;
        var plot = new Plot();
        Grouped(plot, f.Layers, l => 100 * saturation.TopK(l), l => 100 * saturation.TopOne(l), $"top-{f.ExpertsPerToken}", "top-1");
        ChanceLine(plot, 100.0 * f.ExpertsPerToken / f.NumExperts, TopK, LinePattern.Dashed, $"chance, top-{f.ExpertsPerToken}");
        ChanceLine(plot, 100.0 / f.NumExperts, TopOne, LinePattern.Dotted, "chance, top-1");
        plot.Title($"Router saturation: {Shorten(f.CompareModel!)} against {Shorten(f.Model)}", size: 15);
        plot.YLabel("% of the final checkpoint's experts also picked", size: 13);
        plot.Axes.SetLimitsY(0, 105);
        plot.SavePng(path, Math.Max(700, 60 * f.Layers + 200), 450);
    }

    /// <summary>vocabulary.png: per layer, the vocabulary specialisation (per token id, and weighted by occurrences).</summary>
    public static void Vocabulary(ExpertFindings f, string path)
    {
        var plot = new Plot();
        var v = f.Vocabulary;
        Grouped(plot, f.Layers, l => 100 * v.Specialisation(l), l => 100 * v.OccurrenceWeighted(l), "each token id alike (paper)", "weighted by occurrences");
        UniformLine(plot, 100.0 / f.NumExperts, "1 / num_experts");
        plot.Title($"Vocabulary specialisation ({v.TokenIds(0)} token ids, top-1)", size: 15);
        plot.YLabel("% routed to the id's favourite expert", size: 13);
        plot.Axes.SetLimitsY(0, 105);
        plot.SavePng(path, Math.Max(700, 60 * f.Layers + 200), 450);
    }

    /// <summary>Two bars per layer, side by side, with a legend below the bars.</summary>
    private static void Grouped(Plot plot, int layers, Func<int, double> first, Func<int, double> second, string firstName, string secondName)
    {
        var bars = new List<Bar>();
        for (int l = 0; l < layers; l++)
        {
            bars.Add(new Bar { Position = l - 0.2, Value = first(l), Size = 0.38, FillColor = TopK, LineWidth = 0 });
            bars.Add(new Bar { Position = l + 0.2, Value = second(l), Size = 0.38, FillColor = TopOne, LineWidth = 0 });
        }
        plot.Add.Bars(bars);
        var ticks = new NumericManual();
        for (int l = 0; l < layers; l++) ticks.AddMajor(l, l.ToString(System.Globalization.CultureInfo.InvariantCulture));
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.XLabel("layer", size: 13);
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = firstName, FillColor = TopK });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = secondName, FillColor = TopOne });
        plot.ShowLegend(Alignment.UpperRight);
    }

    private static void UniformLine(Plot plot, double y, string? legend = null)
    {
        var line = plot.Add.HorizontalLine(y);
        line.LinePattern = LinePattern.Dashed;
        line.Color = Uniform;
        line.LineWidth = 1.5f;
        if (legend is not null) plot.Legend.ManualItems.Add(new LegendItem { LabelText = legend, LineColor = Uniform, LinePattern = LinePattern.Dashed, LineWidth = 1.5f });
    }

    private static void ChanceLine(Plot plot, double y, Color color, LinePattern pattern, string legend)
    {
        var line = plot.Add.HorizontalLine(y);
        line.LinePattern = pattern;
        line.Color = color;
        line.LineWidth = 2;
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = legend, LineColor = color, LinePattern = pattern, LineWidth = 2 });
    }

    /// <summary>Every expert labelled when there are few, every 8th when there are many (OLMoE: 0, 8, …, 56).</summary>
    private static void ExpertTicks(IAxis axis, int experts, bool flipped = false)
    {
        int step = experts <= 16 ? 1 : 8;
        var ticks = new NumericManual();
        for (int e = 0; e < experts; e += step)
            ticks.AddMajor(flipped ? experts - 1 - e : e, e.ToString(System.Globalization.CultureInfo.InvariantCulture));
        axis.TickGenerator = ticks;
    }

    private static Multiplot Grid(int plots, int rows, int columns)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(plots);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        return multiplot;
    }

    /// <summary>A path or long name cut to its last 40 characters, for titles and tick labels.</summary>
    private static string Shorten(string name) => name.Length <= 40 ? name : "…" + name[^39..];
}
