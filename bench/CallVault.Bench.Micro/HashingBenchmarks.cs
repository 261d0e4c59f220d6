using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;

namespace CallVault.Bench.Micro;

/// <summary>
/// SHA-256 over a download's read buffers, as the downloader hashes every byte while it streams: the CPU a 1.5 GiB
/// chunk costs beyond moving its bytes, which curl does not pay. Throughput is the 16 MiB processed per operation.
/// </summary>
public class HashingBenchmarks
{
    private const int Total = 16 * 1024 * 1024;
    private byte[] _data = null!;

    /// <summary>Read buffer size in bytes (the downloader's default is 256 KiB).</summary>
    [Params(64 * 1024, 256 * 1024)]
    public int BufferBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Total];
        new Random(1).NextBytes(_data);
    }

    /// <summary>16 MiB hashed in buffers of <see cref="BufferBytes"/>.</summary>
    [Benchmark]
    public byte[] Sha256Of16MiB()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var offset = 0; offset < Total; offset += BufferBytes)
        {
            hash.AppendData(_data, offset, BufferBytes);
        }

        return hash.GetHashAndReset();
    }
}
