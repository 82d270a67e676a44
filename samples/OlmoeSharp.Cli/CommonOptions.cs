using System.CommandLine;

namespace OlmoeSharp.Cli;

/// <summary>Options several commands share, defined once.</summary>
internal static class CommonOptions
{
    public static Option<string> Model() => new("--model")
    {
        Description = "Model folder, or a Hugging Face repo id such as allenai/OLMoE-1B-7B-0125-Instruct (or -0924-Instruct).",
        Required = true,
    };

    public static Option<int> Threads() => new("--threads")
    {
        Description = "Threads per forward pass (0 = one per core).",
        DefaultValueFactory = _ => 0,
    };

    public static Option<WeightResidency> Weights() => new("--weights")
    {
        Description = "auto (default): packed where this CPU decodes it fast and it fits in memory, else mapped; "
            + "mapped: map the files (instant load); preloaded: copy into private huge-page memory; "
            + "packed: re-encode bf16 losslessly at 12.5 bits per weight, or re-lay a GGUF file's Q4_K/Q6_K/Q4_0 matrices 16 rows at a time, same values (slowest load, fastest decode); "
            + "q8_0, q4_0, q4_k: quantize at load (lossy) as olmoe quantize --type q8_0, q4_0, q4_k_m would.",
        DefaultValueFactory = _ => WeightResidency.Auto,
    };

    public static Option<bool> NoProbe() => new("--no-probe")
    {
        Description = "With --weights auto or packed: pack wherever possible, without first measuring whether packed weights decode faster on this CPU.",
    };

    public static Option<string> KvCache()
    {
        var option = new Option<string>("--kv-cache")
        {
            Description = "f32 (default): keys and values as computed; bf16: half the memory and the bytes attention reads (faster at long contexts; logits move by the rounding).",
            DefaultValueFactory = _ => "f32",
        };
        option.AcceptOnlyFromAmong("f32", "bf16");
        return option;
    }

    /// <summary><c>--template auto|tulu</c>: the chat format, from the model's files (auto) or Tulu whatever they declare.</summary>
    public static Option<string> Template()
    {
        var option = new Option<string>("--template")
        {
            Description = "auto (default): the chat format the model's tokenizer_config.json or GGUF file declares (Tulu is recognised; none means Tulu); "
                + "tulu: the Tulu format of OLMoE Instruct (its 0924 form, opening with <|endoftext|>) whatever the files declare.",
            DefaultValueFactory = _ => "auto",
        };
        option.AcceptOnlyFromAmong("auto", "tulu");
        return option;
    }

    /// <summary>The template <c>--template</c> forces, or null for auto.</summary>
    public static Generation.IChatTemplate? ParseTemplate(string value) => value == "tulu" ? new Generation.TuluChatTemplate() : null;

    public static KvCachePrecision ParseKvCache(string value) => value == "bf16" ? KvCachePrecision.BFloat16 : KvCachePrecision.Float32;
}
