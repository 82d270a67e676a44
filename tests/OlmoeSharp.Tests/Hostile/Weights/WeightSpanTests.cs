using OlmoeSharp.Loading;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Tests.Hostile.Weights;

/// <summary>
/// Every weight the model reads must lie inside the byte span its tensor declares (which the header checks put
/// inside the mapped file): whole matrices, vectors, fused experts sliced per expert, tied heads, sharded files.
/// </summary>
public sealed unsafe class WeightSpanTests
{
    public static TheoryData<string> LayoutNames() => new(Layouts.Keys);

    private static readonly Dictionary<string, (RandomCheckpointOptions Options, bool Tied)> Layouts = new()
    {
        ["per-expert bf16"] = (new RandomCheckpointOptions(), false),
        ["fused f16"] = (new RandomCheckpointOptions { FusedExperts = true, DType = TensorDType.F16 }, false),
        ["f32 three shards tied"] = (new RandomCheckpointOptions { DType = TensorDType.F32, Shards = 3 }, true),
        ["fused bf16 two shards"] = (new RandomCheckpointOptions { FusedExperts = true, Shards = 2 }, false),
    };

    [Theory]
    [MemberData(nameof(LayoutNames))]
    public void Every_bound_matrix_lies_inside_its_tensors_span(string layout)
    {
        var (options, tied) = Layouts[layout];
        using var checkpoint = new HostileCheckpoint(options, HostileCheckpoint.TinyConfig with { TieWordEmbeddings = tied });
        using var files = CheckpointFiles.Open(checkpoint.Directory);
        var weights = WeightBinding.Bind(files, checkpoint.Config);

        var bytesSeen = new Dictionary<string, long>();
        void Check(string tensorName, in WeightMatrix matrix)
        {
            var file = files.Files.Single(f => f.Tensors.ContainsKey(tensorName));
            var tensor = file.Tensors[tensorName];
            byte* begin = file.DataPointer(tensor), end = begin + (tensor.DataEnd - tensor.DataStart);
            Assert.True(matrix.Data >= begin && matrix.Data + matrix.SizeInBytes <= end,
                $"{tensorName}: [{(nint)matrix.Data:x}, +{matrix.SizeInBytes}) outside [{(nint)begin:x}, {(nint)end:x})");
            Assert.True(WeightFormats.TryGetStored(tensor.DType, out var format));
            Assert.Same(format, matrix.Format);
            bytesSeen[tensorName] = bytesSeen.GetValueOrDefault(tensorName) + matrix.SizeInBytes;
        }

        Check(TensorNames.Embeddings, weights.Embeddings);
        Check(tied ? TensorNames.Embeddings : TensorNames.LmHead, weights.LmHead);
        bool fused = options.FusedExperts;
        for (int l = 0; l < weights.Layers.Length; l++)
        {
            var layer = weights.Layers[l];
            Check(TensorNames.QProj(l), layer.Q);
            Check(TensorNames.KProj(l), layer.K);
            Check(TensorNames.VProj(l), layer.V);
            Check(TensorNames.OProj(l), layer.O);
            Check(TensorNames.Router(l), layer.Router);
            for (int e = 0; e < layer.Experts.Length; e++)
            {
                var expert = layer.Experts[e];
                Check(fused ? TensorNames.FusedGateUp(l) : TensorNames.ExpertGate(l, e), expert.Gate);
                Check(fused ? TensorNames.FusedGateUp(l) : TensorNames.ExpertUp(l, e), expert.Up);
                Check(fused ? TensorNames.FusedDown(l) : TensorNames.ExpertDown(l, e), expert.Down);
            }
        }

        // Whole tensors are covered exactly once (fused ones by their slices together); a tied head reads the embeddings twice.
        foreach (var (name, seen) in bytesSeen)
        {
            var tensor = files.Files.Single(f => f.Tensors.ContainsKey(name)).Tensors[name];
            long declared = tensor.DataEnd - tensor.DataStart;
            Assert.Equal(tied && name == TensorNames.Embeddings ? 2 * declared : declared, seen);
        }
    }

    [Fact]
    public void Fused_expert_slices_are_disjoint_and_in_order()
    {
        using var checkpoint = new HostileCheckpoint(new RandomCheckpointOptions { FusedExperts = true });
        using var files = CheckpointFiles.Open(checkpoint.Directory);
        var experts = WeightBinding.Bind(files, checkpoint.Config).Layers[0].Experts;
        var gateUp = experts.SelectMany(e => new[] { e.Gate, e.Up }).ToArray();
        var down = experts.Select(e => e.Down).ToArray();
        foreach (var run in (WeightMatrix[][])[gateUp, down])
            for (int i = 1; i < run.Length; i++)
                Assert.True(run[i - 1].Data + run[i - 1].SizeInBytes == run[i].Data, $"slice {i} does not follow slice {i - 1}");
    }

    [Fact]
    public void A_slice_outside_its_matrix_is_refused()
    {
        var matrix = new WeightMatrix(Bf16Format.Instance, (byte*)0x1000, rows: 8, cols: 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => matrix.Slice(6, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => matrix.Slice(-1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => matrix.Slice(9, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => matrix.Slice(2, int.MaxValue));
        Assert.Equal(0, matrix.Slice(8, 0).Rows);
    }

    [Fact]
    public void Bytes_are_only_handed_out_for_tensors_the_header_declared()
    {
        using var checkpoint = new HostileCheckpoint();
        using var file = SafeTensorsFile.Open(checkpoint.PathOf(HostileCheckpoint.Weights));
        var real = file.Tensors[TensorNames.FinalNorm];
        Assert.Equal(real.DataEnd - real.DataStart, file.GetBytes(real).Length);
        // A caller-made TensorInfo with the right name but a forged span must not become a window past the data.
        var forged = real with { DataEnd = real.DataStart + (1L << 30) };
        Assert.Throws<ArgumentException>(() => file.GetBytes(forged));
        Assert.Throws<ArgumentException>(() => file.GetBytes(real with { Name = "not.in.the.file" }));
    }
}
