using OlmoeSharp.Generation;

namespace OlmoeSharp.Server;

/// <summary>One step of one choice of a request: the choice's index and what its sequence produced.</summary>
internal readonly record struct ChoiceUpdate(int Index, GenerationUpdate Update);
