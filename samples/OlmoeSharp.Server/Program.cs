using OlmoeSharp.Server;

// dotnet run --project samples/OlmoeSharp.Server -c Release -- [--model M] [--urls http://127.0.0.1:8080] [--api-key KEY] [--max-sequences N] [--max-queue N]
var options = ServerOptions.Parse(args, out int exitCode);
if (options is null) return exitCode;
await using var app = OlmoeServer.Build(options);
var model = app.Services.GetRequiredService<ModelHost>(); // RunAsync disposes the services
await app.RunAsync();
return model.LoadError is null ? 0 : 1;
