namespace Sanjia.Core.Prompts;

/// <summary>Where the prompt library is kept. Versions are append-only: a change is a new version.</summary>
public interface IPromptStore
{
    Task<Prompt?> GetAsync(string id, CancellationToken cancellationToken);

    Task<IReadOnlyList<Prompt>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Creates the prompt with <paramref name="first"/> as version 1. False when the id is taken.</summary>
    Task<bool> CreateAsync(string id, string? description, PromptVersion first, CancellationToken cancellationToken);

    /// <summary>Appends a version (numbered next) and returns it; null when the prompt does not exist.</summary>
    Task<PromptVersion?> AddVersionAsync(string id, PromptVersion version, CancellationToken cancellationToken);
}
