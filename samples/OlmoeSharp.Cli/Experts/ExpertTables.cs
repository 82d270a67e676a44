using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace OlmoeSharp.Cli.Experts;

/// <summary>The experts command's numbers: one CSV per analysis (every value), and summary.json (per layer, in brief).</summary>
internal static class ExpertTables
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>expert_load.csv: per input (and "all"), layer and expert, the top-k assignments and first choices.</summary>
    public static void Load(ExpertFindings f, string path)
    {
        using var csv = Open(path, "input,layer,expert,assignments,share,first_choices,first_choice_share");
        var loads = f.LoadPerInput.Select((load, i) => (f.Routings[i].Name, load)).Append(("all", f.Load));
        foreach (var (name, load) in loads)
            for (int l = 0; l < f.Layers; l++)
                for (int e = 0; e < f.NumExperts; e++)
                    csv.WriteLine(Row(Field(name), l, e, load.Assignments(l, e), load.Share(l, e), load.FirstChoices(l, e), load.FirstChoiceShare(l, e)));
    }

    /// <summary>coactivation.csv: per layer and ordered pair a ≠ b with a chosen at least once, N(a, b), N(a) and P(b | a).</summary>
    public static void CoActivation(ExpertFindings f, string path)
    {
        using var csv = Open(path, "layer,expert_a,expert_b,together,chosen_a,probability");
        var c = f.CoActivation;
        for (int l = 0; l < f.Layers; l++)
            for (int a = 0; a < f.NumExperts; a++)
            {
                if (c.Chosen(l, a) == 0) continue;
                for (int b = 0; b < f.NumExperts; b++)
                    if (a != b) csv.WriteLine(Row(l, a, b, c.Together(l, a, b), c.Chosen(l, a), c.Probability(l, a, b)));
            }
    }

    /// <summary>vocabulary.csv: per layer, the vocabulary specialisation both ways.</summary>
    public static void Vocabulary(ExpertFindings f, string path)
    {
        using var csv = Open(path, "layer,token_ids,specialisation,occurrence_weighted");
        for (int l = 0; l < f.Layers; l++)
            csv.WriteLine(Row(l, f.Vocabulary.TokenIds(l), f.Vocabulary.Specialisation(l), f.Vocabulary.OccurrenceWeighted(l)));
    }

    /// <summary>expert_tokens.csv: per layer and expert, the tokens routed to it first most often.</summary>
    public static void ExpertTokens(ExpertFindings f, string path)
    {
        using var csv = Open(path, "layer,expert,rank,token,text,count,occurrences,share");
        for (int l = 0; l < f.Layers; l++)
            for (int e = 0; e < f.NumExperts; e++)
            {
                var tokens = f.Vocabulary.TopTokens(l, e);
                for (int r = 0; r < tokens.Count; r++)
                    csv.WriteLine(Row(l, e, r + 1, tokens[r].Token, Field(f.Decode(tokens[r].Token)), tokens[r].Count, tokens[r].Occurrences, tokens[r].Share));
            }
    }

    /// <summary>saturation.csv: per layer, the top-k and top-1 router saturation.</summary>
    public static void Saturation(ExpertFindings f, string path)
    {
        using var csv = Open(path, "layer,top_k,top_1");
        for (int l = 0; l < f.Layers; l++) csv.WriteLine(Row(l, f.Saturation!.TopK(l), f.Saturation.TopOne(l)));
    }

    /// <summary>summary.json: the run, its inputs, and per layer the headline figures of every analysis.</summary>
    public static void Summary(ExpertFindings f, string path, IEnumerable<string> files)
    {
        var layers = Enumerable.Range(0, f.Layers).Select(l =>
        {
            var pair = f.CoActivation.StrongestPair(l);
            var shares = Enumerable.Range(0, f.NumExperts).Select(e => f.Load.Share(l, e)).ToArray();
            var entry = new Dictionary<string, object?>
            {
                ["layer"] = l,
                ["load_max_share"] = shares.Max(),
                ["load_min_share"] = shares.Min(),
                ["unused_experts"] = shares.Count(s => s == 0),
                ["strongest_coactivation"] = pair is { } p
                    ? new Dictionary<string, object> { ["a"] = p.A, ["b"] = p.B, ["probability"] = p.Probability, ["tokens_choosing_a"] = f.CoActivation.Chosen(l, p.A) }
                    : null,
                ["vocabulary_specialisation"] = f.Vocabulary.Specialisation(l),
                ["vocabulary_occurrence_weighted"] = f.Vocabulary.OccurrenceWeighted(l),
            };
            if (f.Saturation is { } s)
            {
                entry["saturation_top_k"] = s.TopK(l);
                entry["saturation_top_1"] = s.TopOne(l);
            }
            return entry;
        });
        var summary = new Dictionary<string, object?>
        {
            ["model"] = f.Model,
            ["compare"] = f.CompareModel,
            ["context"] = f.Context,
            ["layers"] = f.Layers,
            ["num_experts"] = f.NumExperts,
            ["experts_per_token"] = f.ExpertsPerToken,
            ["inputs"] = f.Routings.Select(r => new Dictionary<string, object> { ["name"] = r.Name, ["tokens"] = r.Length }).ToArray(),
            ["vocabulary_token_ids"] = f.Vocabulary.TokenIds(0),
            ["per_layer"] = layers.ToArray(),
            ["files"] = files.ToArray(),
        };
        File.WriteAllText(path, JsonSerializer.Serialize(summary, JsonOptions) + "\n");
    }

    private static StreamWriter Open(string path, string header)
    {
        var writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        writer.WriteLine(header);
        return writer;
    }

    /// <summary>One CSV row: numbers in invariant culture with round-trip precision; strings already quoted by <see cref="Field"/>.</summary>
    private static string Row(params object[] values) =>
        string.Join(',', values.Select(v => v switch
        {
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
            _ => v.ToString(),
        }));

    /// <summary>A CSV field, quoted (RFC 4180) when it holds a comma, a quote, a line break or edge spaces.</summary>
    private static string Field(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) >= 0 || text != text.Trim()
            ? "\"" + text.Replace("\"", "\"\"") + "\""
            : text;
}
