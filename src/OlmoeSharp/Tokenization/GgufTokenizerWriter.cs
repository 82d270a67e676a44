using System.Text.Json;
using OlmoeSharp.Checkpoints;
using OlmoeSharp.IO;
using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Model;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// The <c>tokenizer.*</c> metadata of a GGUF file, as llama.cpp's converter writes OLMoE's (the inverse of
/// <see cref="GgufTokenizerReader"/>): the vocabulary padded with unused "[PAD<i>id</i>]" tokens to the embedding's
/// rows, a type per token — special added tokens control (3), the other added tokens user-defined (4), padding
/// unused (5), the rest normal (1) — the merges as "left right" strings, and the special token ids.
/// </summary>
internal static class GgufTokenizerWriter
{
    public const int NormalType = 1;
    public const int ControlType = 3;
    public const int UserDefinedType = 4;
    public const int UnusedType = 5;

    /// <summary>Adds the tokenizer of a tokenizer.json, and the chat template of the tokenizer_config.json beside it if it has one.</summary>
    public static void Add(GgufWriter gguf, string tokenizerJsonPath, OlmoeConfig config)
    {
        var definition = TokenizerJsonReader.Read(tokenizerJsonPath);
        if (definition.Tokens.Length > config.VocabSize)
            throw new ModelFormatException(tokenizerJsonPath, $"{definition.Tokens.Length} tokens do not fit the model's {config.VocabSize} embedding rows.", "model.vocab");
        var tokens = new string[config.VocabSize];
        var types = new int[config.VocabSize];
        for (int id = 0; id < tokens.Length; id++)
        {
            bool known = id < definition.Tokens.Length;
            tokens[id] = known ? definition.Tokens[id] : $"[PAD{id}]";
            types[id] = known ? NormalType : UnusedType;
        }
        foreach (var added in definition.AddedTokens) types[added.Id] = added.Special ? ControlType : UserDefinedType;
        var merges = definition.Merges.Select(m => $"{tokens[m.Left]} {tokens[m.Right]}").ToArray();

        gguf.Add("tokenizer.ggml.model", "gpt2");
        gguf.Add("tokenizer.ggml.pre", "olmo");
        gguf.Add("tokenizer.ggml.tokens", tokens);
        gguf.Add("tokenizer.ggml.token_type", types);
        gguf.Add("tokenizer.ggml.merges", merges);
        // llama.cpp's converter writes OLMoE's bos as <|endoftext|>, like its eos, and never adds it.
        if (config.EosTokenIds.Count > 0) gguf.Add("tokenizer.ggml.bos_token_id", (uint)(config.BosTokenId ?? config.EosTokenIds[0]));
        if (config.EosTokenIds.Count > 0) gguf.Add("tokenizer.ggml.eos_token_id", (uint)config.EosTokenIds[0]);
        if (config.PadTokenId is { } pad) gguf.Add("tokenizer.ggml.padding_token_id", (uint)pad);
        gguf.Add("tokenizer.ggml.add_bos_token", config.BosTokenId is not null);
        gguf.Add("tokenizer.ggml.add_eos_token", false);
        if (ChatTemplate(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerJsonPath))!, "tokenizer_config.json")) is { } template)
            gguf.Add("tokenizer.chat_template", template);
    }

    /// <summary>Copies every <c>tokenizer.*</c> key of a GGUF file as it is.</summary>
    public static void Copy(GgufWriter gguf, GgufFile file)
    {
        if (!file.TryGetValue("tokenizer.ggml.tokens", out _))
            throw new ModelFormatException(file.FilePath, "has no tokenizer; a GGUF file llama.cpp loads needs one.", "tokenizer.ggml.tokens");
        foreach (string key in file.MetadataKeys)
            if (key.StartsWith("tokenizer.", StringComparison.Ordinal)) gguf.Add(key, file.Metadata[key]);
    }

    /// <summary>The chat_template string of a tokenizer_config.json, or null when there is no such file or field.</summary>
    private static string? ChatTemplate(string path)
    {
        if (!File.Exists(path)) return null;
        using var document = UntrustedJson.Parse(UntrustedFile.ReadAll(path, TokenizerJsonReader.MaxFileBytes, "tokenizer_config.json"), path, TokenizerJsonReader.MaxDepth);
        return document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("chat_template", out var template) && template.ValueKind == JsonValueKind.String
            ? template.GetString()
            : null;
    }
}
