namespace CallVault.Acs.Recordings;

/// <summary>
/// Reads which recording object an ACS storage URL names. The delete location of a chunk is
/// <c>https://{region}-storage.asm.skype.com/v1/objects/{documentId}</c>: the object's id is the chunk's document id.
/// </summary>
public static class RecordingObjectUrl
{
    /// <summary>
    /// The document id a delete location names: the last path segment after <c>/v1/objects/</c>, with nothing after it;
    /// null when the URL has another shape or the id is not a valid document id.
    /// </summary>
    public static string? DocumentIdOf(Uri deleteLocation)
    {
        ArgumentNullException.ThrowIfNull(deleteLocation);
        if (!deleteLocation.IsAbsoluteUri)
        {
            return null;
        }

        var segments = deleteLocation.AbsolutePath.Split('/');
        if (segments.Length < 4 || segments[^3] != "v1" || segments[^2] != "objects")
        {
            return null;
        }

        var documentId = Uri.UnescapeDataString(segments[^1]);
        return RecordingDocumentId.IsValid(documentId) ? documentId : null;
    }

    /// <summary>
    /// The document id any location of a chunk names: <c>/v1/objects/{documentId}</c> (delete) or
    /// <c>/v1/objects/{documentId}/content/{audio|video|acsmetadata}</c> (media and metadata); null for another shape.
    /// </summary>
    public static string? ObjectIdOf(Uri location)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (!location.IsAbsoluteUri)
        {
            return null;
        }

        var segments = location.AbsolutePath.Split('/');
        var objects = Array.IndexOf(segments, "objects");
        if (objects < 2 || segments[objects - 1] != "v1" || objects + 1 >= segments.Length)
        {
            return null;
        }

        var rest = segments.Length - (objects + 2);
        if (rest != 0 && !(rest == 2 && segments[objects + 2] == "content" && segments[objects + 3].Length > 0))
        {
            return null;
        }

        var documentId = Uri.UnescapeDataString(segments[objects + 1]);
        return RecordingDocumentId.IsValid(documentId) ? documentId : null;
    }

    /// <summary>
    /// Whether a location is known to name another object than <paramref name="documentId"/>: it has the shape of an ACS
    /// object URL and its id differs. A location of an unknown shape is not known to name another object.
    /// </summary>
    public static bool NamesAnotherObject(Uri location, string documentId) =>
        ObjectIdOf(location) is { } named && !string.Equals(named, documentId, StringComparison.Ordinal);

    /// <summary>Whether <paramref name="deleteLocation"/> names exactly the object <paramref name="documentId"/>.</summary>
    public static bool NamesDocument(Uri deleteLocation, string documentId) =>
        string.Equals(DocumentIdOf(deleteLocation), documentId, StringComparison.Ordinal);

    /// <summary>
    /// Whether <paramref name="location"/> names exactly the object <paramref name="documentId"/>; with
    /// <paramref name="allowContent"/>, its media or metadata (<c>/content/...</c>) counts too.
    /// </summary>
    public static bool NamesDocument(Uri location, string documentId, bool allowContent) =>
        string.Equals(allowContent ? ObjectIdOf(location) : DocumentIdOf(location), documentId, StringComparison.Ordinal);
}
