using System.Text.Json.Serialization;
using Sanjia.Abstractions;

namespace Sanjia.Core.Alerts;

/// <summary>The JSON of a stored alert, shared by the SQLite and PostgreSQL stores. Enums as strings.</summary>
[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
[JsonSerializable(typeof(BudgetAlert))]
public sealed partial class AlertStoreJson : JsonSerializerContext;
