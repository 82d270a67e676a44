using OlmoeSharp.Loading.Gguf;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// The tokenizer a GGUF file carries (<c>tokenizer.ggml.*</c>), in the form a tokenizer.json gives: llama.cpp writes
/// the vocabulary, the merges as "left right" strings and a type per token; control tokens (type 3) are the special
/// added tokens, matched in the raw text, and user-defined ones (type 4) the other added tokens, matched in the
/// normalized text — which is exactly how OLMoE's tokenizer.json marks its 2 + 26 added tokens. The pre-tokenizer
/// must be llama.cpp's "olmo" (GPT-2 byte-level BPE over NFC-normalized text). The vocabulary is the file's, which
/// llama.cpp pads to the embedding's 50,304 rows (tokenizer.json lists 50,280); the padding ids never come out of an
/// encode.
/// </summary>
internal static class GgufTokenizerReader
{
    private const int ControlType = 3;
    private const int UserDefinedType = 4;

    public static TokenizerDefinition Read(GgufFile file)
    {
        string path = file.FilePath;
        if (file.GetString("tokenizer.ggml.model") is var model && model != "gpt2")
            throw new ModelFormatException(path, $"tokenizer model \"{model}\" is not supported; OLMoE's is \"gpt2\" (byte-level BPE).", "tokenizer.ggml.model");
        if (file.GetString("tokenizer.ggml.pre") is var pre && pre != "olmo")
            throw new ModelFormatException(path, $"pre-tokenizer \"{pre}\" is not supported; OLMoE's is \"olmo\".", "tokenizer.ggml.pre");
        var tokens = file.GetArray<string>("tokenizer.ggml.tokens");
        var types = file.GetArray<int>("tokenizer.ggml.token_type");
        if (types.Length != tokens.Length)
            throw new ModelFormatException(path, $"{types.Length} token types for {tokens.Length} tokens.", "tokenizer.ggml.token_type");

        var ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (int id = 0; id < tokens.Length; id++)
            if (!ids.TryAdd(tokens[id], id))
                throw new ModelFormatException(path, $"token {id} repeats token {ids[tokens[id]]} (\"{tokens[id]}\").", "tokenizer.ggml.tokens");

        var mergeTexts = file.GetArray<string>("tokenizer.ggml.merges");
        var merges = new List<(int Left, int Right, int Merged)>(mergeTexts.Length);
        for (int rank = 0; rank < mergeTexts.Length; rank++)
        {
            string merge = mergeTexts[rank];
            int space = merge.IndexOf(' ');
            if (space <= 0 || space != merge.LastIndexOf(' ') || space == merge.Length - 1
                || !ids.TryGetValue(merge[..space], out int left) || !ids.TryGetValue(merge[(space + 1)..], out int right)
                || !ids.TryGetValue(string.Concat(merge.AsSpan(0, space), merge.AsSpan(space + 1)), out int merged))
                throw new ModelFormatException(path, $"merge {rank} (\"{merge}\") is not two vocabulary tokens whose concatenation is one.", "tokenizer.ggml.merges");
            merges.Add((left, right, merged));
        }

        var added = new List<AddedTokenDefinition>();
        for (int id = 0; id < tokens.Length; id++)
            if (types[id] is ControlType or UserDefinedType)
                added.Add(new AddedTokenDefinition(id, tokens[id], Special: types[id] == ControlType, Normalized: types[id] == UserDefinedType));
        return new TokenizerDefinition(tokens, merges, added, NormalizeNfc: true);
    }
}
