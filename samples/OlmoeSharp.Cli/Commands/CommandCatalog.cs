using System.CommandLine;

namespace OlmoeSharp.Cli.Commands;

/// <summary>Every sub-command of the CLI, one file each.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return LogitsCommand.Create();
        yield return GenerateCommand.Create();
        yield return ScoreCommand.Create();
        yield return PerplexityCommand.Create();
        yield return ExpertsCommand.Create();
        yield return ChatCommand.Create();
        yield return TokenizeCommand.Create();
        yield return GgufInfoCommand.Create();
        yield return DownloadCommand.Create();
        yield return MakeCheckpointCommand.Create();
        yield return QuantizeCommand.Create();
        yield return ConvertCommand.Create();
        yield return BenchCommand.Create();
        yield return SessionBenchCommand.Create();
    }
}
