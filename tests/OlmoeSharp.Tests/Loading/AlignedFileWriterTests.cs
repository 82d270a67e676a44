using OlmoeSharp.Loading;

namespace OlmoeSharp.Tests.Loading;

/// <summary>
/// The aligned writer buffers writes into 4 MiB file-aligned pieces; whatever the sizes of the writes, the file must
/// hold exactly the bytes written, in order, and Position must count them.
/// </summary>
public sealed class AlignedFileWriterTests
{
    [Fact]
    public void Writes_of_any_size_reach_the_file_in_order()
    {
        using var directory = new TempDirectory();
        string path = directory.File("data.bin");
        var random = new Random(5);
        var expected = new MemoryStream();
        using (var writer = new AlignedFileWriter(path))
        {
            // Small odd pieces (a header), one write spanning several 4 MiB boundaries, a single byte, and a tail.
            foreach (int size in new[] { 8, 1021, 3 << 20, 9 << 20, 1, 4 << 20, 777 })
            {
                var piece = new byte[size];
                random.NextBytes(piece);
                if (size == 1) writer.WriteByte(piece[0]); else writer.Write(piece);
                expected.Write(piece);
                Assert.Equal(expected.Length, writer.Position);
            }
        }
        Assert.Equal(expected.ToArray(), File.ReadAllBytes(path));
    }
}
