"""CPU microseconds per request by area, from the perf reports profile.sh wrote (one column per gateway)."""
import collections, re, sys

work, seconds = sys.argv[1], float(sys.argv[2])
QUALIFIERS = re.compile(r"\[(OptimizedTier1|OptimizedTier1OSR|Optimized|Tier0|Tier1|QuickJitted|PreJIT)\]")

def area(dso: str, symbol: str) -> str:
    if dso.startswith("[kernel"):
        return "kernel (network, scheduling)"
    if dso.startswith(("libcoreclr", "libclrjit")):
        return "runtime (GC, JIT, type system)"
    if not dso.startswith(("memfd:", "[JIT]", "perf-")) and not symbol.startswith(("instance ", "void ", "class ", "valuetype ", "bool ", "int", "string ", "object ", "!!", "uint", "native ")) and "[" not in symbol:
        return "native: " + dso.split(".so")[0]
    assembly = re.search(r"\[([A-Za-z0-9_.]+)\]", symbol)
    name = assembly.group(1) if assembly else "unresolved JIT code"
    if name.startswith("Sanjia"):
        namespace = re.search(r"\] (Sanjia\.[A-Za-z]+(\.[A-Za-z]+)?)", symbol)
        return namespace.group(1) if namespace else name
    return name

columns = {}
for line in open(f"{work}/measured"):
    name, rps, samples = line.split()
    per_request = 1000.0 / (float(rps) * seconds)  # us of CPU per sample (about 1 ms at 999 Hz) per request
    totals = collections.Counter()
    for row in open(f"{work}/{name}.report"):
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)", row)
        if m:
            totals[area(m.group(2), QUALIFIERS.sub("", m.group(4)))] += float(m.group(1)) / 100 * int(samples) * per_request
    columns[name] = (totals, float(rps))

names = list(columns)
keys = sorted(set().union(*(c[0] for c in columns.values())), key=lambda k: -sum(c[0][k] for c in columns.values()))
print(f"{'area (us CPU per request)':44s}" + "".join(f"{n:>12s}" for n in names) + ("        diff" if len(names) == 2 else ""))
for k in keys[:40]:
    values = [columns[n][0][k] for n in names]
    print(f"{k[:44]:44s}" + "".join(f"{v:12.2f}" for v in values) + (f"{values[0] - values[1]:12.2f}" if len(names) == 2 else ""))
totals = [sum(columns[n][0].values()) for n in names]
print(f"{'total':44s}" + "".join(f"{v:12.2f}" for v in totals) + (f"{totals[0] - totals[1]:12.2f}" if len(names) == 2 else ""))
print(f"{'requests/s while sampled (noisy if shared)':44s}" + "".join(f"{columns[n][1]:12.0f}" for n in names))
