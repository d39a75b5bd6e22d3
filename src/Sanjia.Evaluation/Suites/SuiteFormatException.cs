namespace Sanjia.Evaluation.Suites;

/// <summary>A suite file that cannot be used; the message names the file, the line or case, and the field.</summary>
public sealed class SuiteFormatException(string message) : Exception(message);
