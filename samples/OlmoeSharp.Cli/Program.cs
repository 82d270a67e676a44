using System.CommandLine;
using OlmoeSharp.Cli.Commands;

var root = new RootCommand("OlmoeSharp: run OLMoE-1B-7B from .NET.");
foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
