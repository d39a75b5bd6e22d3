namespace Sanjia.Core.Pipeline.Taps;

public static class TapPipelineExtensions
{
    /// <summary>Copies successful exchanges to the taps (see <see cref="TapHandler"/>); nothing is added when there are none.</summary>
    public static ChatPipelineBuilder UseTaps(this ChatPipelineBuilder builder, IReadOnlyList<IChatTap> taps, TimeProvider time) =>
        taps.Count == 0 ? builder : builder.Use(inner => new TapHandler(inner, taps, time));
}
