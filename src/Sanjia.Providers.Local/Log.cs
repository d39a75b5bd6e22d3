using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;

namespace Sanjia.Providers.Local;

internal static partial class Log
{
    [LoggerMessage(EventId = LogEvents.LocalModelLoaded, Level = LogLevel.Information, Message = "Loaded local model {Model} from {Path} in {ElapsedMs:F0} ms (training context {TrainingContext}, prompt format {Format})")]
    public static partial void ModelLoaded(ILogger logger, string model, string path, double elapsedMs, int trainingContext, string format);

    [LoggerMessage(EventId = LogEvents.LocalModelLoadFailed, Level = LogLevel.Error, Message = "Could not load local model {Path}")]
    public static partial void ModelLoadFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = LogEvents.LocalTemplateUnusable, Level = LogLevel.Warning, Message = "The chat template in {Path} is not one llama.cpp can apply; using the '{Fallback}' fallback")]
    public static partial void TemplateUnusable(ILogger logger, string path, string fallback);

    [LoggerMessage(EventId = LogEvents.LocalOverloaded, Level = LogLevel.Warning, Message = "Local model {Model} is overloaded; request {RequestId} turned away")]
    public static partial void Overloaded(ILogger logger, string model, string requestId);

    [LoggerMessage(EventId = LogEvents.LocalGenerationFailed, Level = LogLevel.Error, Message = "Local generation failed for request {RequestId} on {Model}")]
    public static partial void GenerationFailed(ILogger logger, string requestId, string model, Exception exception);

    [LoggerMessage(EventId = LogEvents.LocalNative, Level = LogLevel.Debug, Message = "llama.cpp: {Message}")]
    public static partial void Native(ILogger logger, string message);

    [LoggerMessage(EventId = LogEvents.LocalEncoderLoaded, Level = LogLevel.Information, Message = "Loaded the local embedding model {Model} in {ElapsedMs:F0} ms")]
    public static partial void EncoderLoaded(ILogger logger, string model, double elapsedMs);

    [LoggerMessage(EventId = LogEvents.LocalEmbeddingFailed, Level = LogLevel.Error, Message = "Local embedding failed for request {RequestId}")]
    public static partial void EmbeddingFailed(ILogger logger, string requestId, Exception exception);

    [LoggerMessage(EventId = LogEvents.LocalModelRetired, Level = LogLevel.Information, Message = "Local model file {Path} is gone or was replaced; its weights are freed once its running generations end")]
    public static partial void ModelRetired(ILogger logger, string path);

    [LoggerMessage(EventId = LogEvents.LocalModelsFolderChanged, Level = LogLevel.Information, Message = "The models folder {Directory} changed; rescanning it")]
    public static partial void ModelsFolderChanged(ILogger logger, string directory);

    [LoggerMessage(EventId = LogEvents.LocalModelsFolderNotWatched, Level = LogLevel.Warning, Message = "The models folder {Directory} cannot be watched ({Reason}); it is polled every 2 s instead")]
    public static partial void ModelsFolderNotWatched(ILogger logger, string directory, string reason);

    [LoggerMessage(EventId = LogEvents.LocalRescanFailed, Level = LogLevel.Warning, Message = "Rescanning the models folder {Directory} failed ({Reason}); the next change rescans it")]
    public static partial void RescanFailed(ILogger logger, string directory, string reason);
}
