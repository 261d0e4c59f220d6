namespace CallVault.Emulator.Hosting;

/// <summary>
/// A host lifetime that takes no process signals: the emulator runs inside a test, the CallVault server (demo mode)
/// or its own command line, and in each the owner decides when it stops. The default console lifetime would swallow
/// SIGTERM and Ctrl+C for a host that nobody waits on.
/// </summary>
internal sealed class PassiveHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
