using System.Net;
using System.Net.Sockets;
using OlmoeSharp.Hub;

namespace OlmoeSharp.Tests.Hub;

[Collection(HubCollection.Name)]
public sealed class ResumeAndIntegrityTests
{
    private const string Weights = "model.safetensors";
    private const int CutAt = 100_000;

    [Fact]
    public async Task A_cut_connection_is_resumed_with_a_range_request_in_the_same_call()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.SingleFileModel();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        bed.Server.Inject(Weights, FaultKind.Cut, CutAt);
        using var resolver = bed.Resolver();

        string folder = await resolver.ResolveAsync(HubTestBed.RepoId);

        Assert.Equal(files[Weights], File.ReadAllBytes(Path.Combine(folder, Weights)));
        var gets = bed.Server.ContentRequests(Weights);
        Assert.Equal(2, gets.Count);
        Assert.Null(gets[0].Header("Range"));
        Assert.Equal($"bytes={CutAt}-", gets[1].Header("Range"));
    }

    [Fact]
    public async Task A_failed_call_keeps_the_partial_file_and_the_next_call_resumes_it()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.SingleFileModel();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        bed.Server.Inject(Weights, FaultKind.Cut, CutAt);
        using var noRetry = bed.Resolver(bed.Options with { MaxRetries = 0 });

        var error = await Assert.ThrowsAsync<HubException>(() => noRetry.ResolveAsync(HubTestBed.RepoId));

        Assert.Equal(HubErrorKind.Network, error.Kind);
        Assert.Equal(Weights, error.FileName);
        Assert.Contains("resume", error.Message, StringComparison.Ordinal);
        string partial = Path.Combine(bed.RepoFolder, "blobs", FakeHub.Sha256(files[Weights]) + ".incomplete");
        Assert.Equal(CutAt, new FileInfo(partial).Length);
        Assert.False(File.Exists(Path.Combine(bed.RepoFolder, "refs", "main")));

        string folder = await noRetry.ResolveAsync(HubTestBed.RepoId);

        Assert.Equal(files[Weights], File.ReadAllBytes(Path.Combine(folder, Weights)));
        Assert.Equal($"bytes={CutAt}-", bed.Server.ContentRequests(Weights)[^1].Header("Range"));
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public async Task Cancellation_leaves_a_partial_file_that_the_next_call_resumes()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.SingleFileModel();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        bed.Server.Inject(Weights, FaultKind.Stall, CutAt);
        using var resolver = bed.Resolver();
        using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var progress = new InlineProgress<DownloadProgress>(p =>
        {
            if (p.FileName == Weights && p.BytesDone > 0) cancellation.Cancel();
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => resolver.ResolveAsync(HubTestBed.RepoId, null, progress, cancellation.Token));

        var partial = new FileInfo(Path.Combine(bed.RepoFolder, "blobs", FakeHub.Sha256(files[Weights]) + ".incomplete"));
        Assert.InRange(partial.Length, 1, CutAt);
        string folder = await resolver.ResolveAsync(HubTestBed.RepoId);
        Assert.Equal(files[Weights], File.ReadAllBytes(Path.Combine(folder, Weights)));
        Assert.Equal($"bytes={partial.Length}-", bed.Server.ContentRequests(Weights)[^1].Header("Range"));
    }

    [Fact]
    public async Task Corrupted_content_is_refused_and_nothing_enters_the_snapshot()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.SingleFileModel();
        string commit = bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        bed.Server.Inject(Weights, FaultKind.Corrupt);
        using var resolver = bed.Resolver();

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync(HubTestBed.RepoId));

        Assert.Equal(HubErrorKind.ChecksumMismatch, error.Kind);
        Assert.Contains(HubTestBed.RepoId, error.Message, StringComparison.Ordinal);
        Assert.Contains(Weights, error.Message, StringComparison.Ordinal);
        Assert.Contains("sha256", error.Message, StringComparison.Ordinal);
        string snapshot = Path.Combine(bed.RepoFolder, "snapshots", commit);
        Assert.False(File.Exists(Path.Combine(snapshot, Weights)));
        Assert.Empty(Directory.GetFiles(Path.Combine(bed.RepoFolder, "blobs"), FakeHub.Sha256(files[Weights]) + "*"));
        Assert.False(File.Exists(Path.Combine(bed.RepoFolder, "refs", "main")));

        // The fault was one-off: a new attempt succeeds.
        string folder = await resolver.ResolveAsync(HubTestBed.RepoId);
        Assert.Equal(files[Weights], File.ReadAllBytes(Path.Combine(folder, Weights)));
    }

    [Fact]
    public async Task A_server_ignoring_the_range_restarts_the_file_from_scratch()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.SingleFileModel();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        bed.Server.Inject(Weights, FaultKind.Cut, CutAt);
        bed.Server.Inject(Weights, FaultKind.IgnoreRange);
        using var resolver = bed.Resolver();

        string folder = await resolver.ResolveAsync(HubTestBed.RepoId);

        Assert.Equal(files[Weights], File.ReadAllBytes(Path.Combine(folder, Weights)));
        Assert.NotNull(bed.Server.ContentRequests(Weights)[^1].Header("Range"));
    }

    [Fact]
    public async Task A_stalled_connection_fails_after_the_timeout()
    {
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.SingleFileModel());
        bed.Server.Inject(Weights, FaultKind.Stall, CutAt);
        using var resolver = bed.Resolver(bed.Options with { Timeout = TimeSpan.FromMilliseconds(300), MaxRetries = 0 });

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync(HubTestBed.RepoId));

        Assert.Equal(HubErrorKind.Network, error.Kind);
        Assert.Contains("no data", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_hub_is_a_network_error()
    {
        await using var bed = new HubTestBed();
        using var resolver = bed.Resolver(bed.Options with { Endpoint = new Uri($"http://127.0.0.1:{ClosedPort()}/") });

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync(HubTestBed.RepoId));

        Assert.Equal(HubErrorKind.Network, error.Kind);
        Assert.Contains("cannot reach", error.Message, StringComparison.Ordinal);
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
