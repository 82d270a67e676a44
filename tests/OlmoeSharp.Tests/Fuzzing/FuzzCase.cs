namespace OlmoeSharp.Tests.Fuzzing;

/// <summary>One fuzz input: every file of a checkpoint folder, and how they were made from a valid one.</summary>
/// <param name="Number">The case number; with the seed it regenerates the case exactly.</param>
/// <param name="Description">The base checkpoint and the mutations applied, for failure reports.</param>
/// <param name="Files">File name → content; a file absent here is absent from the folder.</param>
internal sealed record FuzzCase(int Number, string Description, IReadOnlyDictionary<string, byte[]> Files);
