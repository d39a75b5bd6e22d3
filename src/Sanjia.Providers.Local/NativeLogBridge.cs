using LLama.Native;
using Microsoft.Extensions.Logging;

namespace Sanjia.Providers.Local;

/// <summary>
/// llama.cpp writes its chatty load and context messages to stderr unless told otherwise; route them to an
/// <see cref="ILogger"/> at Debug. The hook is process-wide, so the first logger factory to ask wins.
/// </summary>
internal static class NativeLogBridge
{
    private static int _installed;

    public static void Install(ILoggerFactory loggerFactory)
    {
        if (Interlocked.Exchange(ref _installed, 1) != 0)
        {
            return;
        }
        var logger = loggerFactory.CreateLogger("LLama.Native");
        NativeLogConfig.llama_log_set((level, message) =>
        {
            // Continue lines are progress dots that only make sense on a terminal.
            if (level == LLamaLogLevel.Continue || !logger.IsEnabled(LogLevel.Debug))
            {
                return;
            }
            var text = message.TrimEnd();
            if (text.Length > 0)
            {
                Log.Native(logger, text);
            }
        });
    }
}
