using System.Security.Cryptography;
using System.Text;

namespace CallVault.Security;

/// <summary>Compares a presented secret with an expected one without leaking, through timing, either its content or its length.</summary>
public static class SecretComparison
{
    /// <summary>
    /// Whether <paramref name="presented"/> equals <paramref name="expected"/> (ordinal, UTF-8). Both are hashed with
    /// SHA-256 first and the fixed-length hashes compared in constant time: comparing the raw bytes would return early
    /// when the lengths differ, telling a guesser the secret's length.
    /// </summary>
    public static bool AreEqual(string expected, string? presented)
    {
        ArgumentNullException.ThrowIfNull(expected);
        if (presented is null)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(expected)),
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)));
    }
}
