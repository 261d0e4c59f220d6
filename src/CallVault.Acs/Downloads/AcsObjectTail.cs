namespace CallVault.Acs.Downloads;

/// <summary>The last bytes of a recording object and the object's whole size, as one ranged request reported them.</summary>
/// <param name="Length">The whole object's size in bytes.</param>
/// <param name="Tail">The object's last bytes (all of them when the object is no larger than was asked for).</param>
/// <param name="ContentType">The response's media type, when the service sent one.</param>
public sealed record AcsObjectTail(long Length, byte[] Tail, string? ContentType);
