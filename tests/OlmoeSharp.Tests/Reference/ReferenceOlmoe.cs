using System.Buffers.Binary;
using OlmoeSharp.Loading;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Tests.Reference;

/// <summary>
/// A plain double-precision OLMoE forward pass, written from the spec with loops and no shared code with the engine's
/// kernels: every tensor is widened to double by its own decoder, attention is recomputed over the full sequence (no
/// KV cache), experts run densely per token. It is slow and obviously right, which is the point.
/// </summary>
internal sealed class ReferenceOlmoe
{
    private readonly OlmoeConfig _c;
    private readonly Dictionary<string, double[]> _tensors = new(StringComparer.Ordinal);

    public ReferenceOlmoe(string directory)
    {
        _c = OlmoeConfig.Load(Path.Combine(directory, "config.json"));
        foreach (string file in Directory.GetFiles(directory, "*.safetensors"))
        {
            using var st = SafeTensorsFile.Open(file);
            foreach (var info in st.Tensors.Values) _tensors[info.Name] = Decode(st.GetBytes(info), info.DType);
        }
    }

    /// <summary>Logits [T, V] for the whole sequence, positions starting at 0.</summary>
    /// <param name="tokens">The sequence.</param>
    /// <param name="routed">Receives each routing decision: layer, position, the chosen experts (most probable first,
    /// lower id on ties), their mixing weights and the probabilities over all experts.</param>
    public double[][] Forward(int[] tokens, Action<int, int, int[], double[], double[]>? routed = null)
    {
        int T = tokens.Length, d = _c.HiddenSize, hd = _c.HeadDim, heads = _c.NumAttentionHeads, kvHeads = _c.NumKeyValueHeads;
        double eps = _c.RmsNormEps;
        var h = tokens.Select(t => Row(TensorNames.Embeddings, t, d)).ToArray();
        for (int l = 0; l < _c.NumHiddenLayers; l++)
        {
            var q = new double[T][]; var k = new double[T][]; var v = new double[T][];
            for (int t = 0; t < T; t++)
            {
                var a = RmsNorm(h[t], W(TensorNames.InputNorm(l)), eps);
                q[t] = RmsNorm(Linear(TensorNames.QProj(l), a), W(TensorNames.QNorm(l)), eps);
                k[t] = RmsNorm(Linear(TensorNames.KProj(l), a), W(TensorNames.KNorm(l)), eps);
                v[t] = Linear(TensorNames.VProj(l), a);
                if (_c.ClipQkv is float clip)
                    foreach (var x in new[] { q[t], k[t], v[t] })
                        for (int i = 0; i < x.Length; i++) x[i] = Math.Clamp(x[i], -clip, clip);
                Rope(q[t], t); Rope(k[t], t);
            }
            for (int t = 0; t < T; t++)
            {
                var heads_ = new double[heads * hd];
                for (int head = 0; head < heads; head++)
                {
                    int kvh = head / (heads / kvHeads);
                    var scores = new double[t + 1];
                    for (int s = 0; s <= t; s++)
                    {
                        double dot = 0;
                        for (int i = 0; i < hd; i++) dot += q[t][head * hd + i] * k[s][kvh * hd + i];
                        scores[s] = dot / Math.Sqrt(hd);
                    }
                    Softmax(scores);
                    for (int s = 0; s <= t; s++)
                        for (int i = 0; i < hd; i++) heads_[head * hd + i] += scores[s] * v[s][kvh * hd + i];
                }
                var o = Linear(TensorNames.OProj(l), heads_);
                for (int i = 0; i < d; i++) h[t][i] += o[i];
            }
            for (int t = 0; t < T; t++)
            {
                var m = RmsNorm(h[t], W(TensorNames.PostAttentionNorm(l)), eps);
                var probs = Linear(TensorNames.Router(l), m);
                Softmax(probs);
                var chosen = Enumerable.Range(0, probs.Length).OrderByDescending(e => probs[e]).ThenBy(e => e).Take(_c.NumExpertsPerToken).ToArray();
                double norm = _c.NormTopKProb ? chosen.Sum(e => probs[e]) : 1.0;
                routed?.Invoke(l, t, chosen, chosen.Select(e => probs[e] / norm).ToArray(), probs);
                foreach (int e in chosen)
                {
                    var (gate, up, down) = Expert(l, e);
                    var g = Linear(gate, m, _c.IntermediateSize);
                    var u = Linear(up, m, _c.IntermediateSize);
                    var act = g.Select((z, i) => z / (1 + Math.Exp(-z)) * u[i]).ToArray();
                    var y = Linear(down, act, d);
                    for (int i = 0; i < d; i++) h[t][i] += probs[e] / norm * y[i];
                }
            }
        }
        string head_ = _c.TieWordEmbeddings ? TensorNames.Embeddings : TensorNames.LmHead;
        return h.Select(x => Linear(W(head_), RmsNorm(x, W(TensorNames.FinalNorm), eps), _c.VocabSize)).ToArray();
    }

    private (double[] Gate, double[] Up, double[] Down) Expert(int l, int e)
    {
        if (!_tensors.ContainsKey(TensorNames.FusedGateUp(l)))
            return (W(TensorNames.ExpertGate(l, e)), W(TensorNames.ExpertUp(l, e)), W(TensorNames.ExpertDown(l, e)));
        int d = _c.HiddenSize, inter = _c.IntermediateSize;
        var gateUp = W(TensorNames.FusedGateUp(l));
        var down = W(TensorNames.FusedDown(l));
        long gateStart = (long)e * 2 * inter * d;
        return (gateUp.AsSpan((int)gateStart, inter * d).ToArray(),
                gateUp.AsSpan((int)(gateStart + (long)inter * d), inter * d).ToArray(),
                down.AsSpan(e * d * inter, d * inter).ToArray());
    }

    private void Rope(double[] x, int position)
    {
        int hd = _c.HeadDim, half = hd / 2;
        for (int offset = 0; offset < x.Length; offset += hd)
            for (int i = 0; i < half; i++)
            {
                double angle = position * Math.Pow(_c.RopeTheta, -2.0 * i / hd);
                double a = x[offset + i], b = x[offset + i + half];
                x[offset + i] = a * Math.Cos(angle) - b * Math.Sin(angle);
                x[offset + i + half] = b * Math.Cos(angle) + a * Math.Sin(angle);
            }
    }

    private double[] W(string name) => _tensors.TryGetValue(name, out var w) ? w : throw new KeyNotFoundException(name);

    private double[] Row(string name, int row, int width) => W(name).AsSpan(row * width, width).ToArray();

    private double[] Linear(string name, double[] x) => Linear(W(name), x, W(name).Length / x.Length);

    private static double[] Linear(double[] w, double[] x, int rows)
    {
        var y = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int i = 0; i < x.Length; i++) sum += w[(long)r * x.Length + i] * x[i];
            y[r] = sum;
        }
        return y;
    }

    private static double[] RmsNorm(double[] x, double[] w, double eps)
    {
        double ms = x.Sum(v => v * v) / x.Length;
        double scale = 1 / Math.Sqrt(ms + eps);
        return x.Select((v, i) => w[i] * v * scale).ToArray();
    }

    private static void Softmax(double[] x)
    {
        double max = x.Max(), sum = 0;
        for (int i = 0; i < x.Length; i++) sum += x[i] = Math.Exp(x[i] - max);
        for (int i = 0; i < x.Length; i++) x[i] /= sum;
    }

    private static double[] Decode(ReadOnlySpan<byte> bytes, TensorDType type)
    {
        int size = type.SizeInBytes();
        var values = new double[bytes.Length / size];
        for (int i = 0; i < values.Length; i++)
        {
            var b = bytes.Slice(i * size, size);
            values[i] = type switch
            {
                TensorDType.BF16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16),
                TensorDType.F16 => (double)BinaryPrimitives.ReadHalfLittleEndian(b),
                TensorDType.F32 => BinaryPrimitives.ReadSingleLittleEndian(b),
                _ => double.NaN,
            };
        }
        return values;
    }
}
