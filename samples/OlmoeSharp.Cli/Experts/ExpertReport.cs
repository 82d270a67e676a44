using System.Globalization;
using System.Net;
using System.Text;

namespace OlmoeSharp.Cli.Experts;

/// <summary>report.html: the pictures together, each with a caption saying what it shows, and the data files listed.</summary>
internal static class ExpertReport
{
    /// <summary>A picture of the report: its file (beside report.html), heading and caption.</summary>
    public sealed record Figure(string File, string Title, string Caption);

    /// <summary>A data file of the report, and what it holds.</summary>
    public sealed record DataFile(string File, string Holds);

    public static void Write(string path, ExpertFindings f, IEnumerable<Figure> figures, IEnumerable<DataFile> files)
    {
        var inv = CultureInfo.InvariantCulture;
        var html = new StringBuilder();
        html.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Router analysis</title>
            <style>
            body { font-family: sans-serif; max-width: 1500px; margin: 2em auto; padding: 0 1em; color: #222; }
            figure { margin: 2em 0; } img { max-width: 100%; border: 1px solid #ddd; }
            figcaption { max-width: 60em; line-height: 1.4; } td, th { padding: 0.2em 0.8em; text-align: left; }
            code { background: #f4f4f4; padding: 0 0.2em; }
            </style></head><body>
            <h1>Inside the router</h1>

            """);
        html.Append(inv, $"<p>Model <code>{E(f.Model)}</code>: {f.Layers} MoE layers, each routing every token to {f.ExpertsPerToken} of {f.NumExperts} experts. ");
        html.Append(inv, $"Inputs routed in windows of {f.Context} tokens, each from an empty cache:</p>\n<table><tr><th>input</th><th>tokens</th></tr>\n");
        foreach (var r in f.Routings) html.Append(inv, $"<tr><td>{E(r.Name)}</td><td>{r.Length}</td></tr>\n");
        html.Append("</table>\n");
        html.Append("<p>The analyses are those of the OLMoE paper (Muennighoff et al., 2024, arXiv:2409.02060, §5). ")
            .Append("A model with random weights routes without meaning: its pictures show the machinery, not the paper's findings.</p>\n");
        foreach (var figure in figures)
            html.Append(inv, $"<figure><h2>{E(figure.Title)}</h2><img src=\"{E(figure.File)}\" alt=\"{E(figure.Title)}\"><figcaption>{E(figure.Caption)}</figcaption></figure>\n");
        html.Append("<h2>Data files</h2>\n<table>\n");
        foreach (var file in files) html.Append(inv, $"<tr><td><a href=\"{E(file.File)}\">{E(file.File)}</a></td><td>{E(file.Holds)}</td></tr>\n");
        html.Append("</table>\n</body></html>\n");
        File.WriteAllText(path, html.ToString(), new UTF8Encoding(false));
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
