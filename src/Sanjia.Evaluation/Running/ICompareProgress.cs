namespace Sanjia.Evaluation.Running;

/// <summary>Progress of a comparison run, for a progress bar or a status endpoint. Called from worker threads.</summary>
public interface ICompareProgress
{
    /// <summary>The run starts: <paramref name="alreadyDone"/> of <paramref name="totalCells"/> cells were stored by an earlier attempt.</summary>
    void Started(int totalCells, int alreadyDone);

    /// <summary>One more cell is stored; <paramref name="done"/> counts earlier attempts' cells too.</summary>
    void CellCompleted(CellResult result, int done, int totalCells);
}
