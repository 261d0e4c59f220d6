using System.ComponentModel.DataAnnotations;

namespace CallVault.Acs.Downloads;

/// <summary>How a recording object is fetched.</summary>
public sealed class AcsDownloadOptions
{
    /// <summary>One mebibyte, for sizes below.</summary>
    public const long MiB = 1024 * 1024;

    /// <summary>
    /// A fixed number of connections for one object, overriding the adaptive count; null (default) adapts. 1 sends one
    /// GET for the whole object, as the ACS quickstart advises, and resumes with <c>Range: bytes=N-</c> after a failure.
    /// Above 1, the rest of the object after the first part is fetched as ranged parts of <see cref="PartSizeBytes"/>,
    /// that many at a time, and written in order. 1 to 16.
    /// </summary>
    [Range(1, 16)]
    public int? ParallelConnections { get; set; }

    /// <summary>
    /// The most connections the adaptive count may use for one object (when <see cref="ParallelConnections"/> is null).
    /// A download starts with one connection and measures from its first bytes; a single stream already at 200 MB/s or
    /// more is never split. Below that the first probe asks for the count that would carry 200 MB/s at the single
    /// stream's rate, then the count doubles while the total rate scales nearly linearly, settles at the knee of a total
    /// cap with half again to spare, goes back when a step added under 10 %, and halves after an error or a throttling
    /// answer; settled at one, the rest is one open-ended stream again. On loopback it stays at one; on a link of
    /// 20 MB/s per connection it reaches 16 in two steps of about 0.3 s. Memory for one object is at most this many
    /// parts (<see cref="PartSizeBytes"/>). Default 16; 1 to 16.
    /// </summary>
    [Range(1, 16)]
    public int MaxConnections { get; set; } = 16;

    /// <summary>
    /// Size of one ranged part in a parallel download, in bytes. Memory held for one object is at most
    /// <c>connections × PartSizeBytes</c> plus two read buffers: 64.5 MiB with the defaults (16 connections), only on a
    /// link that needs them; a single stream holds the two read buffers alone. Default 4 MiB; 256 KiB to 256 MiB.
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
    /// empty 200 that a download a minute later does not repeat (reported against the Azure SDK for Python); a real
    /// recording is never empty. Default <see langword="true"/>.
    /// </summary>
    public bool RejectEmptyContent { get; set; } = true;

    /// <summary>
    /// Size of the buffers the stream that writes straight into the destination reads into, in bytes; two are used,
    /// one being read into while the other is written.
    /// Default 256 KiB; 4 KiB to 4 MiB.
    /// </summary>
    [Range(4 * 1024, 4 * MiB)]
    public int ReadBufferBytes { get; set; } = 256 * 1024;
}
