using OlmoeSharp;

namespace OlmoeSharp.Cli;

/// <summary>
/// Runs a command body and turns the failures a user can cause (bad files, bad arguments, missing folders,
/// cancellation) into one line on stderr and a non-zero exit code, never a stack trace.
/// </summary>
internal static class CliRunner
{
    public const int Failed = 1;
    public const int Cancelled = 130;

    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cancelled");
            return Cancelled;
        }
        catch (Hub.HubException e)
        {
            Console.Error.WriteLine($"error: {OneLine(e.Message)}");
            if (e.Kind is Hub.HubErrorKind.Network or Hub.HubErrorKind.NotInCache)
                Console.Error.WriteLine("To try the pipeline without the real weights: olmoe make-checkpoint --preset small --out models/small && olmoe chat --model models/small");
            return Failed;
        }
        catch (Exception e) when (e is ModelFormatException or IOException or UnauthorizedAccessException
                                       or ArgumentException or FormatException or InvalidOperationException
                                       or NotSupportedException)
        {
            Console.Error.WriteLine($"error: {OneLine(e.Message)}");
            return Failed;
        }
    }

    private static string OneLine(string message) => string.Join(' ', message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));

    /// <summary>Parses "1,2,3" into token ids.</summary>
    public static int[] ParseTokenList(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out ids[i]))
                throw new FormatException($"--tokens: \"{parts[i]}\" is not an integer token id.");
        if (ids.Length == 0) throw new FormatException("--tokens: no token ids given.");
        return ids;
    }
}
