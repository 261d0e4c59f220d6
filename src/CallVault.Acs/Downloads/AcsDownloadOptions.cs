using System.ComponentModel.DataAnnotations;

namespace CallVault.Acs.Downloads;

/// <summary>How a recording object is fetched.</summary>
public sealed class AcsDownloadOptions
{
    /// <summary>One mebibyte, for sizes below.</summary>
    public const long MiB = 1024 * 1024;

    /// <summary>
    /// Connections used for one object. 1 sends one GET for the whole object, as the ACS quickstart advises, and
    /// resumes with <c>Range: bytes=N-</c> after a failure. Above 1, the object is fetched as ranged parts of
    /// <see cref="PartSizeBytes"/>, that many at a time, and written in order, as the official SDK's partitioned
    /// download does. Default 8 (with 4 MiB parts): on a link of 20 MB/s per connection and 50 ms latency it fetched
    /// 256 MiB 4.3 times faster than one connection while holding no more memory than 4 connections of 8 MiB parts
    /// (bench/run.sh). 1 to 16.
    /// </summary>
    [Range(1, 16)]
    public int ParallelConnections { get; set; } = 8;

    /// <summary>
    /// Size of one ranged part in a parallel download, in bytes. Memory held for one object is at most
    /// <c>(ParallelConnections + 1) × PartSizeBytes</c>: 36 MiB with the defaults. Default 4 MiB; 256 KiB to 256 MiB.
    /// </summary>
    [Range(256 * 1024, 256 * MiB)]
    public long PartSizeBytes { get; set; } = 4 * MiB;

    /// <summary>
    /// The longest wait for response headers or for the next bytes of a body before the connection is dropped and the
    /// download resumed from the last byte received. A slow but moving transfer never times out. Default 30 seconds;
    /// 1 second to 10 minutes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether a 0-byte body is an error to retry. ACS has been seen to answer an idle resource's first download with an
    /// empty 200, and a second try a minute later worked; a real recording is never empty. Default <see langword="true"/>.
    /// </summary>
    public bool RejectEmptyContent { get; set; } = true;

    /// <summary>
    /// Size of the buffers a connection reads into, in bytes; up to four are in flight between receiving and writing.
    /// Default 256 KiB; 4 KiB to 4 MiB.
    /// </summary>
    [Range(4 * 1024, 4 * MiB)]
    public int ReadBufferBytes { get; set; } = 256 * 1024;
}
