using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OlmoeSharp.Generation;
using OlmoeSharp.Loading;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp;

/// <summary>
/// A loaded OLMoE model: its config and its weights, memory-mapped from the checkpoint's safetensors files (never
/// widened; re-encoded losslessly into private memory, or quantized there when asked, where <see cref="Residency"/> says so). Thread-safe: one model
/// serves any number of <see cref="InferenceSession"/>s, each with its own KV cache. Dispose it to unmap the files.
/// </summary>
public sealed class OlmoeModel : IDisposable
{
    private readonly ICheckpointTensors _files;
    private readonly EncodedWeights? _encoded;
    private int _disposed;
    private long _evaluatedTokens;
    private readonly Lazy<ulong> _weightsFingerprint;

    private OlmoeModel(string directory, OlmoeConfig config, ICheckpointTensors files, EncodedWeights? encoded, OlmoeWeights weights, int threads, OlmoeTokenizer? tokenizer,
        ChatTemplateChoice chatTemplate, WeightResidency residency, string residencyChoice, KvCachePrecision kvCachePrecision, Batching.BatchingOptions batching)
    {
        ChatTemplate = chatTemplate;
        KvCachePrecision = kvCachePrecision;
        Residency = residency;
        ResidencyChoice = residencyChoice;
        Directory = directory;
        Config = config;
        Tokenizer = tokenizer;
        _files = files;
        _encoded = encoded;
        Weights = weights;
        Pool = new WorkerPool(threads);
        Scheduler = new Batching.StepScheduler(this, batching);
        _weightsFingerprint = new(() => SessionStateFormat.WeightsFingerprint(Weights));
    }

    /// <summary>The checkpoint folder, or the path of the GGUF file.</summary>
    public string Directory { get; }

    /// <summary>The model's validated config.</summary>
    public OlmoeConfig Config { get; }

    /// <summary>The tokenizer from the folder's tokenizer.json or the GGUF file's metadata, or null when there is none.</summary>
    public OlmoeTokenizer? Tokenizer { get; }

    /// <summary>
    /// The chat format <see cref="ChatSession"/> and <see cref="AI.OlmoeChatClient"/> use unless given one: the Tulu
    /// template when the folder's tokenizer_config.json or the GGUF file's <c>tokenizer.chat_template</c> declares it
    /// (with their bos and eos tokens), assumed when they declare none, <see cref="ModelLoadOptions.ChatTemplate"/> when
    /// set; a declared template of another kind leaves <see cref="ChatTemplateChoice.Template"/> null and chats refused.
    /// </summary>
    public ChatTemplateChoice ChatTemplate { get; }

    /// <summary>Threads each forward pass uses.</summary>
    public int Threads => Pool.ThreadCount;

    /// <summary>Where the weights live: what <see cref="ModelLoadOptions.Residency"/> resolved to (never <see cref="WeightResidency.Auto"/>).</summary>
    public WeightResidency Residency { get; }

    /// <summary>One line saying which residency was chosen and why ("auto → packed: 12.5 bits per weight, avx2 decoder, 10.8 GB fits in 21.9 GB available").</summary>
    public string ResidencyChoice { get; }

    /// <summary>How its sessions' KV caches store keys and values (<see cref="ModelLoadOptions.KvCache"/>).</summary>
    public KvCachePrecision KvCachePrecision { get; }

    /// <summary>Bytes of tensor data in the checkpoint's files.</summary>
    public long WeightBytes => _files.DataBytes;

    /// <summary>Bytes of weights one decoded token reads (attention, router, the chosen experts, LM head).</summary>
    public long BytesPerDecodedToken => Weights.BytesPerDecodedToken(Config);

    /// <summary>
    /// Bytes of one expert's weights in one layer (gate, up and down): what each further expert chosen by a batched
    /// step's tokens adds to the bytes the step reads.
    /// </summary>
    public long BytesPerExpert => Weights.BytesPerExpert;

    internal OlmoeWeights Weights { get; }

    internal WorkerPool Pool { get; }

    /// <summary>Batches the steps of concurrent generations into shared forward passes.</summary>
    internal Batching.StepScheduler Scheduler { get; }

    /// <summary>What batched generation is doing now: sequences running and waiting, their KV cache bytes, steps so far.</summary>
    public Batching.BatchingStatus BatchingStatus => Scheduler.Status;

    /// <summary>
    /// Loads a checkpoint folder in Hugging Face layout — config.json, model.safetensors or sharded files with an
    /// index, and tokenizer.json when present — or a GGUF file (llama.cpp's format: config, tokenizer and weights in
    /// one file, in any of its quantized types), memory-mapped either way.
    /// </summary>
    /// <param name="directory">The checkpoint folder, or a .gguf file.</param>
    /// <param name="options">Threads and weight residency; defaults: one thread per core, memory-mapped weights.</param>
    /// <exception cref="ModelFormatException">A file is malformed, inconsistent with the config, or not an OLMoE model.</exception>
    /// <exception cref="FileNotFoundException">config.json or the weights are missing.</exception>
    public static OlmoeModel Load(string directory, ModelLoadOptions? options = null) => Load(directory, options, null, CancellationToken.None);

    /// <summary>
    /// Loads a model folder, or a Hugging Face repo id ("allenai/OLMoE-1B-7B-0924-Instruct") from the huggingface_hub
    /// cache, downloading what is missing. A folder that exists wins over a repo id of the same spelling.
    /// </summary>
    /// <param name="folderOrRepoId">A checkpoint folder or "org/name".</param>
    /// <param name="options">Threads, weight residency, hub settings and revision.</param>
    /// <param name="progress">Receives download and loading progress.</param>
    /// <param name="cancellationToken">Cancels the download (leaving a resumable partial file) or the loading.</param>
    /// <exception cref="Hub.HubException">The model could not be downloaded or is not in the cache while offline.</exception>
    /// <exception cref="ModelFormatException">A file is malformed, inconsistent with the config, or not an OLMoE model.</exception>
    public static async Task<OlmoeModel> LoadAsync(string folderOrRepoId, ModelLoadOptions? options = null,
        IProgress<ModelLoadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(folderOrRepoId);
        options ??= new ModelLoadOptions();
        options.Validate();
        using var resolver = new Hub.ModelResolver(options.Hub ?? Hub.HubOptions.FromEnvironment());
        var downloads = progress is null ? null : new Progress<Hub.DownloadProgress>(p => progress.Report(new ModelLoadProgress(ModelLoadStage.Download, p.FileName, p.BytesDone, p.TotalBytes)));
        string directory = await resolver.ResolveAsync(folderOrRepoId, options.Revision, downloads, cancellationToken).ConfigureAwait(false);
        return await Task.Run(() => Load(directory, options, progress, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private static OlmoeModel Load(string directory, ModelLoadOptions? options, IProgress<ModelLoadProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= new ModelLoadOptions();
        options.Validate();
        var logger = options.Logger ?? NullLogger.Instance;
        var clock = Stopwatch.StartNew();
        progress = Logged(progress, logger);
        var (config, tokenizer, files, chatTemplate) = IsGgufFile(directory)
            ? OpenGguf(directory, options.ChatTemplate, progress)
            : OpenFolder(directory, options.Residency, options.ChatTemplate, progress, cancellationToken);
        EncodedWeights? encoded = null;
        try
        {
            var weights = WeightBinding.Bind(files, config);
            int threads = options.Threads == 0 ? Environment.ProcessorCount : options.Threads;
            Log.LoadStarted(logger, directory, config.NumHiddenLayers, config.HiddenSize, config.NumExperts, config.NumExpertsPerToken, threads, SimdWidth.ClassName);
            if (tokenizer is null) Log.NoTokenizer(logger, directory);
            if (chatTemplate.Status == ChatTemplateStatus.Unsupported) Log.ChatTemplateProblem(logger, chatTemplate.Description);
            else Log.ChatTemplateChosen(logger, chatTemplate.Description);
            WeightResidency residency;
            string choice;
            if (ResidencyResolver.IsQuantized(options.Residency))
            {
                (weights, encoded, residency, choice) = Quantize(weights, config, options.Residency, threads, progress, cancellationToken);
            }
            else
            {
                var matrices = weights.ProjectionMatrices();
                var encoder = WeightFormats.LosslessEncoderFor(matrices);
                long packedBytes = matrices.Where(m => encoder.CanEncode(m)).Sum(m => encoder.EncodedBytes(m, EncodedWeights.Alignment));
                (residency, choice) = ResidencyResolver.Resolve(options.Residency, encoder.HasVectorDecoder, encoder.DecoderName, packedBytes,
                    options.Residency == WeightResidency.Auto ? ResidencyResolver.AvailableMemory() : null,
                    options.MeasurePackedSpeed ? MeasureSpeedup(options.Residency, encoder, matrices) : null, encoder.Encoding, encoder.SourceName);
                if (residency == WeightResidency.Preloaded && files is Loading.Gguf.GgufCheckpoint)
                    (residency, choice) = (WeightResidency.Mapped, "mapped instead of preloaded: a GGUF file is always mapped (preloading copies safetensors files)");
                else if (options.Residency == WeightResidency.Auto && packedBytes == 0 && files is Loading.Gguf.GgufCheckpoint)
                    choice = $"auto → mapped: the GGUF file's weights as stored ({string.Join(", ", matrices.Select(m => m.Format.Name).Distinct().Order())})";
                if (residency == WeightResidency.Packed)
                {
                    encoded = EncodedWeights.Encode(matrices, encoder, threads,
                        (done, total) => progress?.Report(new ModelLoadProgress(ModelLoadStage.Packing, null, done, total)), cancellationToken);
                    weights = weights.WithMatrices(encoded.Matrices);
                }
            }
            Log.ResidencyChosen(logger, choice);
            if (options.Residency != WeightResidency.Auto && residency != options.Residency)
                Log.ResidencyNotAsRequested(logger, options.Residency, residency, choice);
            progress?.Report(new ModelLoadProgress(ModelLoadStage.Ready, null, files.FileCount, files.FileCount));
            Log.LoadFinished(logger, directory, clock.Elapsed.TotalSeconds, files.DataBytes, options.KvCache);
            return new OlmoeModel(directory, config, files, encoded, weights, threads, tokenizer, chatTemplate, residency, choice, options.KvCache, options.Batching);
        }
        catch
        {
            encoded?.Dispose();
            files.Dispose();
            throw;
        }
    }

    /// <summary>A path to an existing file named *.gguf (folders are checkpoints in Hugging Face layout).</summary>
    internal static bool IsGgufFile(string path) =>
        path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) && File.Exists(path);

    /// <summary>
    /// The caller's progress, with each stage's first report (and the end of each weight file) also logged at Debug
    /// level; without a logger that is enabled for Debug, the caller's progress as it is.
    /// </summary>
    private static IProgress<ModelLoadProgress>? Logged(IProgress<ModelLoadProgress>? progress, ILogger logger)
    {
        if (!logger.IsEnabled(LogLevel.Debug)) return progress;
        ModelLoadStage? last = null;
        var gate = new Lock(); // packing and quantizing report from worker threads
        return new SynchronousProgress(p =>
        {
            lock (gate)
            {
                if (p.Stage != last || (p.Stage == ModelLoadStage.Weights && p.Done == p.Total))
                    Log.LoadStage(logger, p.Stage, p.File is null ? $"{p.Done} of {p.Total?.ToString() ?? "?"}" : $"{p.File}, {p.Done} of {p.Total?.ToString() ?? "?"}");
                last = p.Stage;
            }
            progress?.Report(p);
        });
    }

    /// <summary>Reports on the thread that reports, unlike <see cref="Progress{T}"/>, so log lines keep their order.</summary>
    private sealed class SynchronousProgress(Action<ModelLoadProgress> report) : IProgress<ModelLoadProgress>
    {
        public void Report(ModelLoadProgress value) => report(value);
    }

    private static (OlmoeConfig, OlmoeTokenizer?, ICheckpointTensors, ChatTemplateChoice) OpenFolder(string directory, WeightResidency residency,
        IChatTemplate? chosenTemplate, IProgress<ModelLoadProgress>? progress, CancellationToken cancellationToken)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new DirectoryNotFoundException($"{directory}: model folder (or .gguf file) not found.");
        var config = OlmoeConfig.Load(Path.Combine(directory, "config.json"));
        string tokenizerPath = Path.Combine(directory, "tokenizer.json");
        var tokenizer = File.Exists(tokenizerPath) ? OlmoeTokenizer.Load(tokenizerPath) : null;
        var chatTemplate = ChatTemplateChoice.FromFolder(directory, chosenTemplate);
        var files = CheckpointFiles.Open(directory, residency,
            (file, done, total) => progress?.Report(new ModelLoadProgress(ModelLoadStage.Weights, file, done, total)), cancellationToken);
        return (config, tokenizer, files, chatTemplate);
    }

    private static (OlmoeConfig, OlmoeTokenizer?, ICheckpointTensors, ChatTemplateChoice) OpenGguf(string path, IChatTemplate? chosenTemplate, IProgress<ModelLoadProgress>? progress)
    {
        var gguf = Loading.Gguf.GgufCheckpoint.Open(path);
        try
        {
            progress?.Report(new ModelLoadProgress(ModelLoadStage.Weights, path, 1, 1));
            var tokenizer = gguf.File.TryGetValue("tokenizer.ggml.tokens", out _) ? OlmoeTokenizer.FromGguf(gguf.File) : null;
            return (gguf.Config, tokenizer, gguf, ChatTemplateChoice.FromGguf(gguf.File, tokenizer, chosenTemplate));
        }
        catch
        {
            gguf.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Every matrix quantized as a GGUF file of the residency's file type would hold it (<see cref="Checkpoints.GgufQuantizationMix"/>:
    /// same types, same quantizer, so the same bytes), the router widened to float32 as such a file stores it.
    /// </summary>
    private static (OlmoeWeights, EncodedWeights?, WeightResidency, string) Quantize(OlmoeWeights weights, OlmoeConfig config, WeightResidency requested,
        int threads, IProgress<ModelLoadProgress>? progress, CancellationToken cancellationToken)
    {
        var fileType = ResidencyResolver.FileTypeOf(requested);
        var matrices = weights.EveryMatrix();
        // Where the interleaved kernels run, the projections are re-laid as --weights packed lays out the same file; the
        // embedding table (a tied head is it) is only looked up by row and stays as the file would store it.
        bool interleave = InterleavingEncoder.Instance.HasVectorDecoder, tied = weights.LmHead.Equals(weights.Embeddings);
        var encoders = matrices.Select(m => QuantizingEncoder.For(Loading.Gguf.GgmlTypeLayout.Format(
            Checkpoints.GgufQuantizationMix.TypeOf(fileType, m.Kind, m.Layer, m.Matrix.Cols, config)),
            interleave && m.Kind != TensorKind.TokenEmbedding && !(tied && m.Kind == TensorKind.Output))).ToList();
        long sourceBytes = 0, quantizedBytes = 0;
        bool interleaved = false;
        for (int i = 0; i < matrices.Count; i++)
        {
            if (!encoders[i].CanEncode(matrices[i].Matrix) || matrices[i].Kind == TensorKind.Router) continue;
            sourceBytes += matrices[i].Matrix.SizeInBytes;
            quantizedBytes += encoders[i].EncodedBytes(matrices[i].Matrix, EncodedWeights.Alignment);
            interleaved |= encoders[i].Interleaves(matrices[i].Matrix);
        }
        var (residency, choice) = ResidencyResolver.ResolveQuantized(requested, sourceBytes, quantizedBytes, interleaved);
        if (residency == WeightResidency.Mapped) return (weights, null, residency, choice);
        var encoded = EncodedWeights.Encode([.. matrices.Select(m => m.Matrix)], encoders, threads,
            (done, total) => progress?.Report(new ModelLoadProgress(ModelLoadStage.Quantizing, null, done, total)), cancellationToken);
        return (weights.WithEveryMatrix(encoded.Matrices), encoded, residency, choice);
    }

    /// <summary>
    /// The packed mat-vec's speed over the stored one's on this CPU, measured on the first packable matrix when the
    /// choice depends on it (auto, or packed to report it); null otherwise.
    /// </summary>
    private static double? MeasureSpeedup(WeightResidency requested, WeightEncoder encoder, List<WeightMatrix> matrices)
    {
        if (requested is not (WeightResidency.Auto or WeightResidency.Packed) || !encoder.HasVectorDecoder) return null;
        foreach (var m in matrices)
        {
            if (!encoder.CanEncode(m)) continue;
            var (stored, encoded) = EncodingProbe.Measure(m, encoder);
            return encoded / stored;
        }
        return null;
    }

    /// <summary>A new session with an empty KV cache. Sessions are independent and may run concurrently.</summary>
    public InferenceSession CreateSession()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return new InferenceSession(this);
    }

    /// <summary>
    /// Reads a session written by <see cref="InferenceSession.SaveState"/> into a new session that continues exactly
    /// where the saved one stopped. The stream is read from its current position.
    /// </summary>
    /// <exception cref="ModelFormatException">The state is not one (magic), from a newer format version, from another model
    /// (config or weights fingerprint) or KV cache precision, truncated, corrupted (checksum), or claims more positions
    /// than the context holds; the message names the stream (its file for a FileStream, else "session state") and the field.
    /// Nothing sized by the stream is allocated before its counts are checked against the model.</exception>
    public InferenceSession LoadSession(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ThrowIfDisposed();
        return SessionStateFormat.Read(stream, this);
    }

    /// <summary>A cheap fingerprint of the weights' values (a few rows and the norms; see <see cref="SessionStateFormat.WeightsFingerprint"/>).</summary>
    internal ulong WeightsFingerprint => _weightsFingerprint.Value;

    /// <summary>Tokens run through the forward pass by all sessions so far (lets tests see work skipped by prefix caching).</summary>
    internal long EvaluatedTokens => Interlocked.Read(ref _evaluatedTokens);

    internal void CountEvaluated(int tokens) => Interlocked.Add(ref _evaluatedTokens, tokens);

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed != 0, this);

    /// <summary>Stops the worker threads, frees packed weights and unmaps the files. Sessions must not be used afterwards.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Scheduler.Dispose(); // after the step in progress: it reads the weights
        Pool.Dispose();
        _encoded?.Dispose();
        _files.Dispose();
    }
}
