using System.Security.Cryptography;
using CallVault.Cli.Output;

namespace CallVault.Cli.Tests.Output;

/// <summary>
/// The file a download writes through <see cref="EarlyWritebackStream"/> holds exactly the bytes written, and on Linux
/// writeback is asked for once per 8 MiB written since the last request, counted again from a position moved back.
/// </summary>
public sealed class EarlyWritebackStreamTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("callvault-writeback-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Write_20MiBIn256KiBPieces_KeepsTheBytes_AndAsksForWritebackEvery8MiB()
    {
        var path = Path.Combine(_folder, "object.bin");
        var bytes = RandomNumberGenerator.GetBytes(20 * 1024 * 1024);
        await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 1, FileOptions.Asynchronous))
        {
            var stream = new EarlyWritebackStream(file);
            for (var offset = 0; offset < bytes.Length; offset += 256 * 1024)
            {
                await stream.WriteAsync(bytes.AsMemory(offset, 256 * 1024));
            }

            Assert.Equal(OperatingSystem.IsLinux() ? 2 : 0, stream.WritebackRequests);

            // A download restarted from the start (the object changed) writes the file again from 0: counted afresh.
            stream.SetLength(0);
            stream.Position = 0;
            await stream.WriteAsync(bytes.AsMemory(0, 9 * 1024 * 1024));
            Assert.Equal(OperatingSystem.IsLinux() ? 3 : 0, stream.WritebackRequests);
            await stream.WriteAsync(bytes.AsMemory(9 * 1024 * 1024));
            file.Flush(flushToDisk: true);
        }

        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(await File.ReadAllBytesAsync(path)));
    }

    [Fact]
    public async Task Write_ResumedPartialFile_CountsFromWhereTheFileEnds()
    {
        var path = Path.Combine(_folder, "partial.bin");
        await File.WriteAllBytesAsync(path, new byte[5 * 1024 * 1024]);
        await using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, bufferSize: 1, FileOptions.Asynchronous);
        file.Seek(0, SeekOrigin.End);
        var stream = new EarlyWritebackStream(file);

        await stream.WriteAsync(new byte[7 * 1024 * 1024]);

        // 7 MiB written after the 5 MiB already there: under the interval, no request yet.
        Assert.Equal(0, stream.WritebackRequests);
        Assert.Equal(12 * 1024 * 1024, file.Length);
    }
}
