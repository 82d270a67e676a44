namespace OlmoeSharp.Tests.Hub;

/// <summary>
/// The tests that talk to the fake hub on loopback run alone: their timeouts (a stalled transfer must fail within
/// seconds) are real time, and with the model tests saturating both cores beside them the fake server's replies
/// could miss the client's timeout.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HubCollection
{
    public const string Name = "Fake hub on loopback";
}
