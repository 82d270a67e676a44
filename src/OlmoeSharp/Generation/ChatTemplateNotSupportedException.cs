namespace OlmoeSharp.Generation;

/// <summary>
/// Thrown when a chat starts on a model whose files declare a chat template OlmoeSharp cannot render, and the caller
/// chose none (<see cref="ModelLoadOptions.ChatTemplate"/>, or the template argument of <see cref="ChatSession"/>):
/// the prompts would otherwise be silently wrong. The message names the file and says how to choose a template.
/// </summary>
public sealed class ChatTemplateNotSupportedException : NotSupportedException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The tokenizer_config.json or .gguf file that declares the template.</param>
    /// <param name="message">What is wrong and what to do, in one line, starting with the file's path.</param>
    public ChatTemplateNotSupportedException(string filePath, string message)
        : base(message)
    {
        FilePath = filePath;
    }

    /// <summary>The file that declares the template.</summary>
    public string FilePath { get; }
}
