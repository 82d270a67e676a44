namespace OlmoeSharp.Loading.Gguf;

/// <summary>Reads one metadata value of every GGUF type, arrays included; nested arrays are refused.</summary>
internal static class GgufValueReader
{
    /// <summary>Reads the value type and then the value of the entry <paramref name="key"/>.</summary>
    public static GgufValue Read(GgufCursor cursor, string key)
    {
        var type = ReadType(cursor, "the value type", key);
        if (type != GgufValueType.Array) return new GgufValue(type, type, ReadScalar(cursor, type, key));

        var elementType = ReadType(cursor, "the array element type", key);
        if (elementType == GgufValueType.Array)
            throw cursor.Fault("is an array of arrays; nested arrays are not supported.", key);
        ulong count = cursor.ReadUInt64("the array length", key);
        // Bounded by the bytes left, so a lying length fails before the array is allocated.
        long most = cursor.Remaining / MinimumBytes(elementType);
        if (count > (ulong)Math.Min(most, Array.MaxLength))
            throw cursor.Fault($"array of {count} {GgufValue.Name(elementType)} values cannot fit in the {cursor.Remaining} bytes left in the file.", key);
        return new GgufValue(type, elementType, ReadArray(cursor, elementType, (int)count, key));
    }

    private static GgufValueType ReadType(GgufCursor cursor, string what, string key)
    {
        uint id = cursor.ReadUInt32(what, key);
        return Enum.IsDefined((GgufValueType)id) ? (GgufValueType)id
            : throw cursor.Fault($"{what} {id} is not a GGUF value type (0 to 12).", key);
    }

    private static int MinimumBytes(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        _ => 8, // 64-bit values, and a string's length prefix
    };

    private static object ReadScalar(GgufCursor cursor, GgufValueType type, string key) => type switch
    {
        GgufValueType.UInt8 => cursor.ReadUInt8("a uint8 value", key),
        GgufValueType.Int8 => (sbyte)cursor.ReadUInt8("an int8 value", key),
        GgufValueType.UInt16 => cursor.ReadUInt16("a uint16 value", key),
        GgufValueType.Int16 => (short)cursor.ReadUInt16("an int16 value", key),
        GgufValueType.UInt32 => cursor.ReadUInt32("a uint32 value", key),
        GgufValueType.Int32 => (int)cursor.ReadUInt32("an int32 value", key),
        GgufValueType.Float32 => BitConverter.UInt32BitsToSingle(cursor.ReadUInt32("a float32 value", key)),
        GgufValueType.Bool => ReadBool(cursor, key),
        GgufValueType.String => cursor.ReadString("a string value", key),
        GgufValueType.UInt64 => cursor.ReadUInt64("a uint64 value", key),
        GgufValueType.Int64 => (long)cursor.ReadUInt64("an int64 value", key),
        GgufValueType.Float64 => BitConverter.UInt64BitsToDouble(cursor.ReadUInt64("a float64 value", key)),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private static bool ReadBool(GgufCursor cursor, string key)
    {
        byte value = cursor.ReadUInt8("a bool value", key);
        return value <= 1 ? value == 1 : throw cursor.Fault($"bool value is {value}, not 0 or 1.", key);
    }

    private static Array ReadArray(GgufCursor cursor, GgufValueType type, int count, string key) => type switch
    {
        GgufValueType.UInt8 => Fill<byte>(cursor, type, count, key),
        GgufValueType.Int8 => Fill<sbyte>(cursor, type, count, key),
        GgufValueType.UInt16 => Fill<ushort>(cursor, type, count, key),
        GgufValueType.Int16 => Fill<short>(cursor, type, count, key),
        GgufValueType.UInt32 => Fill<uint>(cursor, type, count, key),
        GgufValueType.Int32 => Fill<int>(cursor, type, count, key),
        GgufValueType.Float32 => Fill<float>(cursor, type, count, key),
        GgufValueType.Bool => Fill<bool>(cursor, type, count, key),
        GgufValueType.String => Fill<string>(cursor, type, count, key),
        GgufValueType.UInt64 => Fill<ulong>(cursor, type, count, key),
        GgufValueType.Int64 => Fill<long>(cursor, type, count, key),
        GgufValueType.Float64 => Fill<double>(cursor, type, count, key),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private static T[] Fill<T>(GgufCursor cursor, GgufValueType type, int count, string key)
    {
        var values = new T[count];
        for (int i = 0; i < count; i++) values[i] = (T)ReadScalar(cursor, type, key);
        return values;
    }
}
