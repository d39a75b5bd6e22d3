using System.Text.Json;
using Anthropic;
using Anthropic.Core;
using Anthropic.Models.Messages;
using Sanjia.Api.FunctionalTests.Infrastructure;

namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>Builds the official Anthropic SDK client against the gateway, and its request objects from plain JSON.</summary>
internal static class Sdk
{
    public static AnthropicClient Anthropic(GatewayServer gateway) =>
        new(new ClientOptions { ApiKey = GatewayServer.MasterKey, BaseUrl = gateway.BaseUrl, MaxRetries = 0 });

    public static MessageCreateParams Create(string json) =>
        MessageCreateParams.FromRawUnchecked(Empty, Empty, Body(json));

    public static MessageCountTokensParams Count(string json) =>
        MessageCountTokensParams.FromRawUnchecked(Empty, Empty, Body(json));

    private static readonly Dictionary<string, JsonElement> Empty = [];

    private static Dictionary<string, JsonElement> Body(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!;
}
