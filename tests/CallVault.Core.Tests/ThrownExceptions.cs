using System.Runtime.ExceptionServices;

namespace CallVault.Core.Tests;

/// <summary>
/// Records the exceptions thrown (caught or not) by the code this test runs, and only by it: a first-chance
/// notification counts when it comes from the asynchronous flow that created the recorder, so tests running beside it
/// in the same process do not add to the list.
/// </summary>
internal sealed class ThrownExceptions : IDisposable
{
    private static readonly AsyncLocal<ThrownExceptions?> Current = new();
    private readonly List<Exception> _thrown = [];

    private ThrownExceptions()
    {
        Current.Value = this;
        AppDomain.CurrentDomain.FirstChanceException += OnFirstChance;
    }

    /// <summary>Starts recording for the calling flow and everything it awaits or starts.</summary>
    public static ThrownExceptions Record() => new();

    /// <summary>The exceptions recorded so far, of type <typeparamref name="T"/> or derived from it.</summary>
    public IReadOnlyList<T> Of<T>() where T : Exception
    {
        lock (_thrown)
        {
            return [.. _thrown.OfType<T>()];
        }
    }

    public void Dispose() => AppDomain.CurrentDomain.FirstChanceException -= OnFirstChance;

    private void OnFirstChance(object? sender, FirstChanceExceptionEventArgs e)
    {
        if (ReferenceEquals(Current.Value, this))
        {
            lock (_thrown)
            {
                _thrown.Add(e.Exception);
            }
        }
    }
}
