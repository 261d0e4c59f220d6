using CallVault.Diagnostics;

namespace CallVault.Core.Tests.Diagnostics;

public sealed class LogScopeTests
{
    /// <summary>Printed as text, the scope is its pairs; a value that would split the pairs is quoted, a null is empty.</summary>
    [Fact]
    public void ToString_Values_PrintsKeyValuePairs()
    {
        var scope = new LogScope(new("DocumentId", "doc-1"), new("Index", 3L), new("Reason", "a \"b\"=c"), new("CallId", null));

        Assert.Equal("DocumentId=doc-1 Index=3 Reason=\"a \\\"b\\\"=c\" CallId=", scope.ToString());
    }

    /// <summary>Structured sinks read the same pairs, in order, with their values unchanged.</summary>
    [Fact]
    public void Enumerate_Values_GivesThePairsInOrder()
    {
        var scope = new LogScope(new("DocumentId", "doc-1"), new("Index", 3L));

        Assert.Equal([new("DocumentId", "doc-1"), new("Index", (object?)3L)], scope.ToList());
        Assert.Equal(2, scope.Count);
    }

    /// <summary>A value from outside (a call id) cannot start a forged line: control characters print escaped.</summary>
    [Fact]
    public void ToString_ControlCharacters_AreEscapedOnOneLine()
    {
        var scope = new LogScope(new("CallId", "call-1\r\ninfo: forged\tline\u001b[31m\u2028\\end"), new("Index", 3L));

        var text = scope.ToString();

        Assert.Equal("CallId=\"call-1\\r\\ninfo: forged\\tline\\u001b[31m\\u2028\\\\end\" Index=3", text);
        Assert.DoesNotContain(text, char.IsControl);
    }
}
