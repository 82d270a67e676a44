namespace OlmoeSharp.Constraints;

/// <summary>
/// One frame of a parser stack, interned: the grammar position to continue at and the frame below. Equal stacks are
/// the same object, so a set of stacks is identified by the ids of its top frames.
/// </summary>
internal sealed class StackNode(int position, StackNode? parent, int id, int minBytes)
{
    /// <summary>The element to match next (a byte class at the top of a stack, a continuation below it).</summary>
    public int Position { get; } = position;

    public StackNode? Parent { get; } = parent;

    public int Id { get; } = id;

    /// <summary>The fewest bytes that empty this stack (finish this frame and every one below).</summary>
    public int MinBytes { get; } = minBytes;
}
