namespace Sanjia.Core.Reports;

/// <summary>How reports name the key a ledger row was charged to: its id, or <c>master</c> for the master key.</summary>
public static class KeyLabel
{
    /// <summary>The master key's label, as the console, the audit log and the access log write it.</summary>
    public const string Master = "master";

    public static string Of(string? keyId) => keyId ?? Master;
}
