using System.Text.Json.Serialization;
using Sanjia.Abstractions;

namespace Sanjia.Core.Keys;

/// <summary>
/// The JSON of a stored key or team record, shared by every key store (SQLite, PostgreSQL) so that a record moved
/// between them (<c>sanjia db copy</c>) reads back the same. Enums as strings: a renumbered enum cannot misread rows.
/// </summary>
[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
[JsonSerializable(typeof(VirtualKey))]
[JsonSerializable(typeof(Team))]
public sealed partial class KeyStoreJson : JsonSerializerContext;
