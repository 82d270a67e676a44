using OlmoeSharp;
using OlmoeSharp.Generation;

// A model folder (config.json, *.safetensors, tokenizer.json) or a Hugging Face repo id.
string model = args.Length > 0 ? args[0] : "allenai/OLMoE-1B-7B-0924-Instruct";

using var olmoe = await OlmoeModel.LoadAsync(model);
var chat = new ChatSession(new TextGenerator(olmoe));

await foreach (var update in chat.SendAsync("Write a haiku about the sea.", new GenerationOptions { MaxNewTokens = 64 }))
    Console.Write(update.Text);
Console.WriteLine();
