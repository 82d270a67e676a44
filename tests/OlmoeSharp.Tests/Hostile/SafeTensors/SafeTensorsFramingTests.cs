using OlmoeSharp.Loading;

namespace OlmoeSharp.Tests.Hostile.SafeTensors;

/// <summary>
/// The framing of a safetensors file — 8-byte header length, header, data — cut short or lying about itself.
/// Every case must end in a <see cref="ModelFormatException"/> naming the file, never in a read past the mapping.
/// </summary>
public sealed class SafeTensorsFramingTests
{
    private const string Weights = HostileCheckpoint.Weights;

    /// <summary>Where a truncation cuts, relative to the file's regions.</summary>
    public enum Cut
    {
        EmptyFile, OneByte, InsideLength, LastLengthByte, AfterLength, InsideHeader, LastHeaderByte,
        AfterHeader, FirstDataByte, InsideData, LastDataByte,
    }

    private static long CutLength(Cut cut, SafeTensorsBytes file) => cut switch
    {
        Cut.EmptyFile => 0,
        Cut.OneByte => 1,
        Cut.InsideLength => 4,
        Cut.LastLengthByte => 7,
        Cut.AfterLength => 8,
        Cut.InsideHeader => 8 + file.Header.Length / 2,
        Cut.LastHeaderByte => file.DataStart - 1,
        Cut.AfterHeader => file.DataStart,
        Cut.FirstDataByte => file.DataStart + 1,
        Cut.InsideData => file.DataStart + file.Data.Length / 2,
        Cut.LastDataByte => file.DataStart + file.Data.Length - 1,
        _ => throw new ArgumentOutOfRangeException(nameof(cut)),
    };

    [Theory]
    [InlineData(Cut.EmptyFile)]
    [InlineData(Cut.OneByte)]
    [InlineData(Cut.InsideLength)]
    [InlineData(Cut.LastLengthByte)]
    [InlineData(Cut.AfterLength)]
    [InlineData(Cut.InsideHeader)]
    [InlineData(Cut.LastHeaderByte)]
    public void Truncation_before_the_data_is_a_fault_of_the_whole_file(Cut cut)
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.Truncate(Weights, CutLength(cut, checkpoint.ReadSafeTensors(Weights)));
        HostileAssert.Rejects(checkpoint, Weights, item: null);
    }

    [Theory]
    [InlineData(Cut.AfterHeader)]
    [InlineData(Cut.FirstDataByte)]
    [InlineData(Cut.InsideData)]
    [InlineData(Cut.LastDataByte)]
    public void Truncation_inside_the_data_names_a_tensor_that_no_longer_fits(Cut cut)
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.Truncate(Weights, CutLength(cut, checkpoint.ReadSafeTensors(Weights)));
        var error = HostileAssert.RejectsNamingATensor(checkpoint, Weights);
        Assert.Contains("past the end of the data", error.Message);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL << 62)]
    [InlineData(1UL << 63)]
    [InlineData(ulong.MaxValue)]
    [InlineData((ulong)SafeTensorsFile.MaxHeaderBytes + 1)]
    public void An_impossible_header_length_is_refused(ulong declared)
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.SetDeclaredHeaderLength(Weights, declared);
        var error = HostileAssert.Rejects(checkpoint, Weights, item: null);
        Assert.Contains(declared.ToString(), error.Message);
    }

    [Fact]
    public void A_header_length_reaching_past_the_end_of_the_file_is_refused()
    {
        using var checkpoint = new HostileCheckpoint();
        byte[] original = checkpoint.ReadBytes(Weights);
        foreach (long declared in (long[])[original.Length - 7, original.Length, original.Length + 1])
        {
            checkpoint.WriteBytes(Weights, original);
            checkpoint.SetDeclaredHeaderLength(Weights, (ulong)declared);
            HostileAssert.Rejects(checkpoint, Weights, item: null);
        }
    }

    [Fact]
    public void A_header_length_taking_the_whole_rest_of_the_file_is_refused_as_json()
    {
        using var checkpoint = new HostileCheckpoint();
        long fileLength = checkpoint.ReadBytes(Weights).Length;
        checkpoint.SetDeclaredHeaderLength(Weights, (ulong)(fileLength - 8));
        Assert.Contains("JSON", HostileAssert.Rejects(checkpoint, Weights, item: null).Message);
    }

    [Fact]
    public void A_header_length_that_cuts_the_json_short_is_refused()
    {
        using var checkpoint = new HostileCheckpoint();
        var file = checkpoint.ReadSafeTensors(Weights);
        int closingBrace = Array.LastIndexOf(file.Header, (byte)'}');
        checkpoint.SetDeclaredHeaderLength(Weights, (ulong)closingBrace);
        Assert.Contains("JSON", HostileAssert.Rejects(checkpoint, Weights, item: null).Message);
    }

    [Fact]
    public void A_header_length_that_swallows_data_bytes_is_trailing_garbage()
    {
        using var checkpoint = new HostileCheckpoint();
        var file = checkpoint.ReadSafeTensors(Weights);
        checkpoint.SetDeclaredHeaderLength(Weights, (ulong)file.Header.Length + 8);
        Assert.Contains("JSON", HostileAssert.Rejects(checkpoint, Weights, item: null).Message);
    }

    [Fact]
    public void A_header_over_the_size_limit_is_refused_before_it_is_read()
    {
        using var checkpoint = new HostileCheckpoint();
        // A sparse file: the length check must come before anything touches the (unwritten) pages.
        checkpoint.SetDeclaredHeaderLength(Weights, (ulong)SafeTensorsFile.MaxHeaderBytes + 8);
        using (var stream = new FileStream(checkpoint.PathOf(Weights), FileMode.Open, FileAccess.Write))
            stream.SetLength(SafeTensorsFile.MaxHeaderBytes + 1024);
        Assert.Contains("limit", HostileAssert.Rejects(checkpoint, Weights, item: null).Message);
    }
}
