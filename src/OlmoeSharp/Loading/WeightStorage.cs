using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace OlmoeSharp.Loading;

/// <summary>The bytes of a safetensors file, addressable by pointer: either a read-only mapping or a private copy.</summary>
internal abstract unsafe class WeightStorage : IDisposable
{
    /// <summary>Address of the first byte of the file (mapped) or of the data section (preloaded); see <see cref="DataOffset"/>.</summary>
    public abstract byte* Base { get; }

    /// <summary>Offset of the data section relative to <see cref="Base"/>.</summary>
    public abstract long DataOffset { get; }

    public abstract void Dispose();

    public static WeightStorage Map(FileStream stream, long dataOffset) => new Mapped(stream, dataOffset);

    public static WeightStorage Preload(SafeFileHandle handle, string path, long dataOffset, long dataLength) =>
        new Preloaded(handle, path, dataOffset, dataLength);

    private sealed class Mapped : WeightStorage
    {
        private readonly MemoryMappedFile _mapping;
        private readonly MemoryMappedViewAccessor _view;
        private readonly byte* _base;
        private readonly long _dataOffset;

        public Mapped(FileStream stream, long dataOffset)
        {
            _mapping = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            try
            {
                _view = _mapping.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                byte* pointer = null;
                _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
                _base = pointer + _view.PointerOffset;
            }
            catch
            {
                _view?.Dispose();
                _mapping.Dispose();
                throw;
            }
            _dataOffset = dataOffset;
        }

        public override byte* Base => _base;

        public override long DataOffset => _dataOffset;

        public override void Dispose()
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _mapping.Dispose();
        }
    }

    private sealed class Preloaded : WeightStorage
    {
        private const nuint HugePage = 2 << 20;
        private const int ReadChunk = 64 << 20;
        private readonly byte* _data;

        public Preloaded(SafeFileHandle handle, string path, long dataOffset, long dataLength)
        {
            nuint size = (nuint)Math.Max(dataLength, 1);
            _data = (byte*)NativeMemory.AlignedAlloc(size, HugePage);
            try
            {
                MemoryAdvice.UseHugePages(_data, size);
                for (long done = 0; done < dataLength;)
                {
                    int want = (int)Math.Min(ReadChunk, dataLength - done);
                    int got = RandomAccess.Read(handle, new Span<byte>(_data + done, want), dataOffset + done);
                    if (got <= 0) throw new ModelFormatException(path, $"file ended after {dataOffset + done} bytes while reading tensor data.");
                    done += got;
                }
            }
            catch
            {
                NativeMemory.AlignedFree(_data);
                throw;
            }
        }

        public override byte* Base => _data;

        public override long DataOffset => 0;

        public override void Dispose() => NativeMemory.AlignedFree(_data);
    }
}
