using System.Buffers.Binary;
using System.Diagnostics;

namespace OlmoeSharp.Tests.Fuzzing;

/// <summary>
/// The mutation fuzzer for GGUF models: tiny valid OLMoE GGUF files (one per matrix type) with one to three random
/// mutations — bytes flipped anywhere in the header, header integers
/// (counts, lengths, dimensions, types, offsets) set to edge values, truncation, splices of two files, bytes of the
/// tensor data changed — each loaded by <see cref="OlmoeModel.Load(string, ModelLoadOptions?)"/> and, if it loads,
/// run for one token. Every case must load or be refused with a <see cref="ModelFormatException"/> naming the file,
/// within bounded time and memory. Cases are numbered and regenerable from (seed, number).
/// </summary>
[Collection(FuzzerCollection.Name)]
public sealed class GgufFuzzerTests
{
    private const int Cases = 1500;
    private static readonly TimeSpan CaseTimeLimit = TimeSpan.FromSeconds(5);
    private const long CaseAllocationLimit = 64L << 20;

    private static readonly ulong[] EdgeValues =
        [0, 1, 2, 3, 31, 32, 33, 255, 256, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, long.MaxValue, ulong.MaxValue];

    [Fact]
    public void Mutated_gguf_models_load_or_fail_with_typed_errors_in_bounded_time_and_memory()
    {
        using var dir = new TempDirectory();
        var bases = new List<(string Name, byte[] Bytes, long DataStart)>();
        // Tiny one-layer models (no tokenizer: the file's tokenizer has its own hostile tests), the matrices in
        // F32, F16, Q8_0, Q4_0 and Q5_1 — the embedding and the norms staying F32 where a type does not fit.
        foreach (var (name, type) in new[] { ("f32", 0u), ("f16", 1u), ("q8_0", 8u), ("q4_0", 2u), ("q5_1", 7u) })
        {
            var builder = Hostile.Gguf.GgufModelTests.TinyModel(tensor: (tensor, dims) =>
                dims.Length > 1 && !tensor.StartsWith("token_embd", StringComparison.Ordinal) && !tensor.EndsWith("gate_inp.weight", StringComparison.Ordinal) ? (type, dims) : null);
            var bytes = builder.Build();
            bases.Add((name, bytes, builder.Regions["data"]));
        }
        string target = Path.Combine(dir.Path, "case.gguf");
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var findings = new List<string>();
        var worker = new Thread(() =>
        {
            for (int n = 0; n < Cases && findings.Count < 5; n++)
            {
                var random = new Random(HashCode.Combine(20261201, n));
                var (name, bytes, dataStart) = bases[random.Next(bases.Count)];
                var steps = new List<string>();
                byte[] mutated = bytes;
                for (int round = random.Next(5) == 0 ? random.Next(2, 4) : 1; round > 0; round--)
                    mutated = Mutate(random, mutated, dataStart, bases, steps);
                File.WriteAllBytes(target, mutated);
                string label = $"case {n}, {name}: {string.Join(" | ", steps)}";
                long allocated = GC.GetAllocatedBytesForCurrentThread();
                var clock = Stopwatch.StartNew();
                string outcome;
                try
                {
                    using var model = OlmoeModel.Load(target, new ModelLoadOptions { Threads = 1 });
                    var logits = new float[model.Config.VocabSize];
                    model.CreateSession().Evaluate([n % model.Config.VocabSize], logits);
                    outcome = "loaded";
                }
                catch (ModelFormatException e) when (e.FilePath == target && e.Message.StartsWith(target + ":", StringComparison.Ordinal))
                {
                    outcome = "refused";
                }
                catch (Exception e)
                {
                    findings.Add($"{label}: {e.GetType().Name}: {e.Message}");
                    outcome = "finding";
                }
                if (clock.Elapsed > CaseTimeLimit) findings.Add($"{label}: took {clock.Elapsed.TotalSeconds:F1} s");
                long used = GC.GetAllocatedBytesForCurrentThread() - allocated;
                if (used > CaseAllocationLimit) findings.Add($"{label}: allocated {used >> 20} MB");
                lock (outcomes) outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            }
        }) { IsBackground = true };
        worker.Start();
        Assert.True(worker.Join(TimeSpan.FromMinutes(4)), "the fuzzer did not finish: a case hangs");
        Assert.True(findings.Count == 0, string.Join("\n", findings));
        // Both outcomes must occur, or the mutations are too weak (all load) or too blunt (all refused).
        Assert.True(outcomes.GetValueOrDefault("loaded") > 0 && outcomes.GetValueOrDefault("refused") > 0, string.Join(", ", outcomes));
    }

    private static byte[] Mutate(Random random, byte[] file, long dataStart, List<(string Name, byte[] Bytes, long DataStart)> bases, List<string> steps)
    {
        var copy = (byte[])file.Clone();
        int header = (int)Math.Min(dataStart, copy.Length);
        switch (random.Next(6))
        {
            case 0 when header > 8:
            {
                int count = 1 + random.Next(8);
                for (int i = 0; i < count; i++) copy[random.Next(4, header)] = (byte)random.Next(256);
                steps.Add($"{count} header bytes flipped");
                return copy;
            }
            case 1 when header > 16:
            {
                // Header integers are 4 or 8 bytes at arbitrary offsets: an edge value written anywhere hits counts,
                // string and array lengths, dimension counts, dimensions, type ids and offsets.
                int at = random.Next(4, header - 8);
                ulong value = EdgeValues[random.Next(EdgeValues.Length)];
                if (random.Next(2) == 0) BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan(at), value);
                else BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(at), (uint)value);
                steps.Add($"0x{value:X} at {at}");
                return copy;
            }
            case 2:
            {
                int length = random.Next(copy.Length);
                steps.Add($"truncated to {length}");
                return copy[..length];
            }
            case 3:
            {
                var donor = bases[random.Next(bases.Count)].Bytes;
                int cut = random.Next(Math.Min(copy.Length, donor.Length));
                steps.Add($"spliced at {cut}");
                return [.. copy.AsSpan(0, cut), .. donor.AsSpan(cut)];
            }
            case 4 when copy.Length > header:
            {
                int count = 1 + random.Next(256);
                for (int i = 0; i < count; i++) copy[random.Next(header, copy.Length)] = (byte)random.Next(256);
                steps.Add($"{count} data bytes changed");
                return copy;
            }
            default:
            {
                int at = random.Next(copy.Length);
                copy[at] ^= (byte)(1 << random.Next(8));
                steps.Add($"bit flipped at {at}");
                return copy;
            }
        }
    }
}
