namespace Sanjia.Testing.OpenApi;

/// <summary>The OpenAPI component schema of each Responses API stream event type, to validate events one by one.</summary>
public static class ResponsesEventSchemas
{
    public static string For(string eventType) => eventType switch
    {
        "response.created" => "ResponseCreatedEvent",
        "response.in_progress" => "ResponseInProgressEvent",
        "response.completed" => "ResponseCompletedEvent",
        "response.incomplete" => "ResponseIncompleteEvent",
        "response.failed" => "ResponseFailedEvent",
        "response.output_item.added" => "ResponseOutputItemAddedEvent",
        "response.output_item.done" => "ResponseOutputItemDoneEvent",
        "response.content_part.added" => "ResponseContentPartAddedEvent",
        "response.content_part.done" => "ResponseContentPartDoneEvent",
        "response.output_text.delta" => "ResponseTextDeltaEvent",
        "response.output_text.done" => "ResponseTextDoneEvent",
        "response.refusal.delta" => "ResponseRefusalDeltaEvent",
        "response.refusal.done" => "ResponseRefusalDoneEvent",
        "response.reasoning_text.delta" => "ResponseReasoningTextDeltaEvent",
        "response.reasoning_text.done" => "ResponseReasoningTextDoneEvent",
        "response.function_call_arguments.delta" => "ResponseFunctionCallArgumentsDeltaEvent",
        "response.function_call_arguments.done" => "ResponseFunctionCallArgumentsDoneEvent",
        "error" => "ResponseErrorEvent",
        _ => throw new ArgumentException("unknown event " + eventType),
    };
}
