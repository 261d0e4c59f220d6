using System.Text.Json;

namespace CallVault.Acs.CallAutomation;

/// <summary>
/// Writes a <c>CommunicationIdentifierModel</c> from a raw id, as the official SDKs do: an ACS user
/// (<c>8:acs:</c>, and the sovereign-cloud <c>8:gcch-acs:</c>, <c>8:dod-acs:</c> and <c>8:spool:</c> forms) becomes a
/// <c>communicationUser</c>, <c>4:+...</c> a <c>phoneNumber</c>; any other raw id is sent as <c>rawId</c> alone, which
/// ACS resolves itself.
/// </summary>
internal static class CommunicationIdentifierJson
{
    private static readonly string[] CommunicationUserPrefixes = ["8:acs:", "8:gcch-acs:", "8:dod-acs:", "8:spool:"];

    public static void Write(Utf8JsonWriter writer, string rawId)
    {
        writer.WriteStartObject();
        writer.WriteString("rawId", rawId);
        if (CommunicationUserPrefixes.Any(prefix => rawId.StartsWith(prefix, StringComparison.Ordinal)))
        {
            writer.WriteString("kind", "communicationUser");
            writer.WriteStartObject("communicationUser");
            writer.WriteString("id", rawId);
            writer.WriteEndObject();
        }
        else if (rawId.StartsWith("4:", StringComparison.Ordinal) && rawId.Length > 2)
        {
            writer.WriteString("kind", "phoneNumber");
            writer.WriteStartObject("phoneNumber");
            writer.WriteString("value", rawId[2..]);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }
}
