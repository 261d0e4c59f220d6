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

    /// <summary>Whether <paramref name="deleteLocation"/> names exactly the object <paramref name="documentId"/>.</summary>
    public static bool NamesDocument(Uri deleteLocation, string documentId) =>
        string.Equals(DocumentIdOf(deleteLocation), documentId, StringComparison.Ordinal);
}
