using OlmoeSharp.Generation;
using OlmoeSharp.Server.Protocol;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Server;

/// <summary>
/// Puts generated tokens' log-probabilities in OpenAI's two shapes: the chat one (token text, UTF-8 bytes — which
/// may split a character, the text then showing U+FFFD — and the alternatives) and the legacy completions one
/// (parallel arrays, alternatives as text → log-probability).
/// </summary>
internal sealed class LogprobText(OlmoeTokenizer tokenizer)
{
    public ChatTokenLogprob Chat(int token, TokenLogProbabilities logProbabilities) => new()
    {
        Token = Text(token),
        Logprob = logProbabilities.LogProbability,
        Bytes = Bytes(token),
        TopLogprobs = [.. logProbabilities.Alternatives.Select(a => new ChatTopLogprob { Token = Text(a.Token), Logprob = a.LogProbability, Bytes = Bytes(a.Token) })],
    };

    /// <param name="steps">The tokens, in order.</param>
    /// <param name="offset">Where the first token's text starts in the choice's text; advanced past the last.</param>
    public CompletionLogprobs Completion(IReadOnlyList<(int Token, TokenLogProbabilities LogProbabilities)> steps, ref int offset)
    {
        var result = new CompletionLogprobs { Tokens = [], TokenLogprobs = [], TopLogprobs = [], TextOffset = [] };
        foreach (var (token, logProbabilities) in steps)
        {
            string text = Text(token);
            result.Tokens.Add(text);
            result.TokenLogprobs.Add(logProbabilities.LogProbability);
            var top = new Dictionary<string, float>();
            foreach (var alternative in logProbabilities.Alternatives) top.TryAdd(Text(alternative.Token), alternative.LogProbability);
            result.TopLogprobs.Add(top);
            result.TextOffset.Add(offset);
            offset += text.Length;
        }
        return result;
    }

    private string Text(int token) => tokenizer.Decode([token]);

    private int[] Bytes(int token)
    {
        var bytes = tokenizer.GetTokenBytes(token);
        var values = new int[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) values[i] = bytes[i];
        return values;
    }
}
