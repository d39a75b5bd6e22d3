using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;

namespace Sanjia.Benchmarks;

/// <summary>What every group of hot-path benchmarks reports: allocations, and results grouped by category with a baseline each.</summary>
public sealed class HotPathConfig : ManualConfig
{
    public HotPathConfig()
    {
        AddDiagnoser(MemoryDiagnoser.Default);
        AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory);
        AddColumn(CategoriesColumn.Default);
    }
}
