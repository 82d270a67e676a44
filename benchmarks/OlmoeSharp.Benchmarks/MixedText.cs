using System.Text;

namespace OlmoeSharp.Benchmarks;

/// <summary>Deterministic mixed-language, mixed-content text for tokenizer benchmarks.</summary>
internal static class MixedText
{
    private static readonly string[] Words =
    [
        "the", "model", "expert", "router", "token", "layer", "attention", "mixture", "of", "experts", "sparse",
        "training", "data", "language", "inference", "is", "a", "and", "to", "in", "that", "with", "for", "on",
        "we", "they", "it's", "don't", "parameters", "billion", "active", "memory", "bandwidth", "throughput",
        "quickly", "jumped", "over", "lazy", "dogs", "research", "open", "weights", "evaluation", "benchmark",
        "Hello", "World", "OLMoE", "Transformer", "University", "Seattle", "January", "computation", "gradient",
        "optimizer", "learning", "rate", "schedule", "warmup", "checkpoint", "shard", "vocabulary", "byte",
    ];

    private static readonly string[] Fragments =
    [
        "Crème brûlée, façade, naïve café — Müller's Straße in Zürich; España y Portugal.",
        "人工智能正在改变世界。机器学习是其中的重要部分。",
        "日本語のテキストとカタカナ、ひらがな。",
        "Привет, мир! Это тестовый текст на русском языке.",
        "مرحبا بالعالم، هذا نص تجريبي.",
        "한국어 문장도 포함되어 있습니다.",
        "Emoji: 😀 🎉 👨‍👩‍👧‍👦 🧑🏿‍💻 ❤️ 🚀",
        "Visit https://huggingface.co/allenai/OLMoE-1B-7B-0924?ref=bench&x=1 for details.",
        "def forward(self, x):\n    h = self.norm(x)\n    return x + self.mlp(h)\n",
        "for (int i = 0; i < n; i++)\n{\n    sum += values[i] * weights[i];\n}\n",
        "{\"id\": 17, \"name\": \"router\", \"scores\": [0.25, -1.5e-3, 3.0]}",
        "user.name+tag@sub.example.co.uk   |||EMAIL_ADDRESS|||",
        "        indented    with     many      spaces\t\tand\ttabs\n\n\n",
    ];

    public static string Build(int targetBytes, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder(targetBytes);
        var bytes = 0;
        while (bytes < targetBytes)
        {
            var start = text.Length;
            if (random.Next(4) == 0)
            {
                text.Append(Fragments[random.Next(Fragments.Length)]);
            }
            else
            {
                // A sentence of words, with the odd number (numbers make many distinct words).
                var count = random.Next(6, 20);
                for (var i = 0; i < count; i++)
                {
                    text.Append(i == 0 ? "" : " ");
                    text.Append(random.Next(10) == 0 ? random.Next(100_000).ToString(System.Globalization.CultureInfo.InvariantCulture) : Words[random.Next(Words.Length)]);
                }

                text.Append(random.Next(3) == 0 ? ".\n" : ". ");
            }

            bytes += Encoding.UTF8.GetByteCount(text.ToString(start, text.Length - start));
        }

        return text.ToString();
    }
}
