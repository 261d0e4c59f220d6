using System.Text.Json;

namespace CallVault.Acs.CallAutomation;

/// <summary>
/// Writes a <c>CommunicationIdentifierModel</c> from a raw id, as the official SDKs do: an ACS user
/// (<c>8:acs:</c>, and the sovereign-cloud <c>8:gcch-acs:</c>, <c>8:dod-acs:</c> and <c>8:spool:</c> forms) becomes a
/// <c>communicationUser</c>, <c>4:+...</c> a <c>phoneNumber</c>; any other raw id is sent as <c>rawId</c> alone, which
/// ACS resolves itself. Properties come in the order the JavaScript SDK writes them (<c>kind</c>, <c>rawId</c>, then
/// the kind's own object), so that the same request is the same bytes, and so the same body hash.
/// </summary>
internal static class CommunicationIdentifierJson
{
    private const string PhoneNumberPrefix = "4:";

    /// <summary>The value of the raw id <c>4:anonymous</c>: a caller whose number is withheld.</summary>
    private const string AnonymousPhoneNumber = "anonymous";

    private static readonly string[] CommunicationUserPrefixes = ["8:acs:", "8:gcch-acs:", "8:dod-acs:", "8:spool:"];

    public static void Write(Utf8JsonWriter writer, string rawId)
    {
        writer.WriteStartObject();
        if (CommunicationUserPrefixes.Any(prefix => rawId.StartsWith(prefix, StringComparison.Ordinal)))
        {
            writer.WriteString("kind", "communicationUser");
            writer.WriteString("rawId", rawId);
            writer.WriteStartObject("communicationUser");
            writer.WriteString("id", rawId);
            writer.WriteEndObject();
        }
        else if (rawId.StartsWith(PhoneNumberPrefix, StringComparison.Ordinal) && rawId.Length > PhoneNumberPrefix.Length)
        {
            var value = rawId[PhoneNumberPrefix.Length..];
            writer.WriteString("kind", "phoneNumber");
            writer.WriteString("rawId", rawId);
            writer.WriteStartObject("phoneNumber");
            writer.WriteString("value", value);
            writer.WriteBoolean("isAnonymous", value == AnonymousPhoneNumber);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteString("rawId", rawId);
        }

        writer.WriteEndObject();
    }
}
