namespace OlmoeSharp.Tests.Hub;

/// <summary>
/// Calls the handler on the reporting thread, in order. Progress&lt;T&gt; would post to the thread pool, so a test
/// could not act (cancel) at a known point of the download.
/// </summary>
internal sealed class InlineProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
