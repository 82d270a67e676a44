namespace OlmoeSharp.Tensors;

/// <summary>Element types a safetensors file can declare. Weight matrices may be <see cref="BF16"/>, <see cref="F16"/> or <see cref="F32"/>.</summary>
public enum TensorDType
{
    /// <summary>bool, one byte.</summary>
    Bool,
    /// <summary>unsigned 8-bit integer.</summary>
    U8,
    /// <summary>signed 8-bit integer.</summary>
    I8,
    /// <summary>8-bit float, e5m2.</summary>
    F8E5M2,
    /// <summary>8-bit float, e4m3.</summary>
    F8E4M3,
    /// <summary>signed 16-bit integer.</summary>
    I16,
    /// <summary>unsigned 16-bit integer.</summary>
    U16,
    /// <summary>IEEE half precision.</summary>
    F16,
    /// <summary>bfloat16: the upper half of an IEEE single.</summary>
    BF16,
    /// <summary>signed 32-bit integer.</summary>
    I32,
    /// <summary>unsigned 32-bit integer.</summary>
    U32,
    /// <summary>IEEE single precision.</summary>
    F32,
    /// <summary>IEEE double precision.</summary>
    F64,
    /// <summary>signed 64-bit integer.</summary>
    I64,
    /// <summary>unsigned 64-bit integer.</summary>
    U64,
}

/// <summary>Names and sizes of <see cref="TensorDType"/> values as safetensors spells them.</summary>
public static class TensorDTypes
{
    /// <summary>Parses a safetensors dtype string (e.g. "BF16"); false for anything unknown.</summary>
    public static bool TryParse(string name, out TensorDType type)
    {
        (bool ok, type) = name switch
        {
            "BOOL" => (true, TensorDType.Bool),
            "U8" => (true, TensorDType.U8),
            "I8" => (true, TensorDType.I8),
            "F8_E5M2" => (true, TensorDType.F8E5M2),
            "F8_E4M3" => (true, TensorDType.F8E4M3),
            "I16" => (true, TensorDType.I16),
            "U16" => (true, TensorDType.U16),
            "F16" => (true, TensorDType.F16),
            "BF16" => (true, TensorDType.BF16),
            "I32" => (true, TensorDType.I32),
            "U32" => (true, TensorDType.U32),
            "F32" => (true, TensorDType.F32),
            "F64" => (true, TensorDType.F64),
            "I64" => (true, TensorDType.I64),
            "U64" => (true, TensorDType.U64),
            _ => (false, default),
        };
        return ok;
    }

    /// <summary>The safetensors spelling of <paramref name="type"/>.</summary>
    public static string Name(this TensorDType type) => type switch
    {
        TensorDType.Bool => "BOOL",
        TensorDType.F8E5M2 => "F8_E5M2",
        TensorDType.F8E4M3 => "F8_E4M3",
        _ => type.ToString(),
    };

    /// <summary>Bytes per element.</summary>
    public static int SizeInBytes(this TensorDType type) => type switch
    {
        TensorDType.Bool or TensorDType.U8 or TensorDType.I8 or TensorDType.F8E5M2 or TensorDType.F8E4M3 => 1,
        TensorDType.I16 or TensorDType.U16 or TensorDType.F16 or TensorDType.BF16 => 2,
        TensorDType.I32 or TensorDType.U32 or TensorDType.F32 => 4,
        _ => 8,
    };
}
