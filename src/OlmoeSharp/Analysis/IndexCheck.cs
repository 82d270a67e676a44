namespace OlmoeSharp.Analysis;

/// <summary>The range checks of the analyses' accessors, with messages that say what the valid range is.</summary>
internal static class IndexCheck
{
    public static int Layer(int layer, int layers) =>
        (uint)layer < (uint)layers ? layer : throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} is outside the {layers} layers.");

    public static int Expert(int expert, int experts, string paramName) =>
        (uint)expert < (uint)experts ? expert : throw new ArgumentOutOfRangeException(paramName, $"expert {expert} is outside the {experts} experts.");
}
