namespace Sanjia.Abstractions;

public enum ModelKind { Chat, Embedding, Image }

/// <summary>A model as listed by <c>GET /v1/models</c>.</summary>
public sealed record ModelInfo(string Id, ModelKind Kind, string OwnedBy, DateTimeOffset Created);
