#!/usr/bin/env python3
"""Pools the light-load rounds of several bench/run runs of the same code.

    bench/pool_light.py bench/results/bench-A.json bench/results/bench-B.json ...
                        [--subjects "porthop porthop-session"] [--resamples 4000]

One run's light-load "x ref" moves by 0.1-0.3 between runs of the same code
(docs/bench.md, "Light load: how far one run can be trusted"). Each run keeps
every round's p50 and p99 per subject (`repeats`); this takes the rounds of
all the runs given, each subject's added figure per round being its own
minus the kernel path's of that round, as bench/run does within one run, and
prints over all of them: the median added p50 / p99, x ref (the subject's
median over the reference pair's), the paired figure (the median of subject
minus reference pair within a round) and a bootstrap 95 % interval of x ref
(the rounds resampled). Give it only runs that are comparable: the same
relay code, the same options, all pinned or none. Standard library only.
"""
import argparse
import json
import random
import statistics
import sys


def rounds_of(path, subjects):
    """[(subject -> (added p50, added p99))] for each light-load round of one run."""
    with open(path) as f:
        run = json.load(f)
    light = {r["subject"]: r for r in run["results"] if r.get("kind") == "latency" and r.get("load") == "light"}
    missing = [s for s in ["kernel", "refwd"] + subjects if s not in light]
    if missing:
        sys.exit(f"pool_light: {path} has no light-load rounds for {', '.join(missing)}; "
                 "give runs whose --subjects include kernel, refwd and every subject asked for")
    def by_round(subject):
        # runs since 2026-12-02 21:20 name each repeat's round; a turn that
        # failed leaves no repeat, so in older runs the index stands for it
        return {r.get("round", i): r for i, r in enumerate(light[subject]["repeats"]) if r["p50"] is not None}

    kernel = by_round("kernel")
    others = {s: by_round(s) for s in ["refwd"] + subjects}
    return [{s: (reps[n]["p50"] - k["p50"], reps[n]["p99"] - k["p99"]) for s, reps in others.items() if n in reps}
            for n, k in sorted(kernel.items())]


def ratio_interval(pairs, resamples, rng):
    """Bootstrap 95 % interval of median(subject) / median(reference), p50 and p99."""
    n = len(pairs)
    ratios = ([], [])
    for _ in range(resamples):
        pick = [pairs[rng.randrange(n)] for _ in range(n)]
        for q in (0, 1):
            ratios[q].append(statistics.median(p[0][q] for p in pick) / statistics.median(p[1][q] for p in pick))
    lo, hi = int(0.025 * resamples), int(0.975 * resamples) - 1
    return [(r[lo], r[hi]) for r in map(sorted, ratios)]


def main():
    ap = argparse.ArgumentParser(description="Pools the light-load rounds of several bench/run JSON files.")
    ap.add_argument("runs", nargs="+", help="bench/run JSON files of the same code")
    ap.add_argument("--subjects", default="porthop porthop-session", help="subjects to compare with refwd")
    ap.add_argument("--resamples", type=int, default=4000, help="bootstrap resamples (default 4000)")
    args = ap.parse_args()
    subjects = args.subjects.split()
    rounds = [r for path in args.runs for r in rounds_of(path, subjects)]
    rng = random.Random(1)  # the same interval for the same input
    ref = [r["refwd"] for r in rounds if "refwd" in r]
    ref50, ref99 = statistics.median(a for a, _ in ref), statistics.median(b for _, b in ref)
    print(f"{len(args.runs)} runs, {len(rounds)} light-load rounds; added round trip at 1000 pps, µs")
    print("subject          rounds  added p50  added p99 |  x ref p50 (95 %)     x ref p99 (95 %)    | paired p50 / p99")
    print(f"{'refwd':16s} {len(ref):6d}  {ref50:+9.1f}  {ref99:+9.1f} |")
    for s in subjects:
        pairs = [(r[s], r["refwd"]) for r in rounds if s in r and "refwd" in r]
        a50 = statistics.median(p[0][0] for p in pairs)
        a99 = statistics.median(p[0][1] for p in pairs)
        (l50, h50), (l99, h99) = ratio_interval(pairs, args.resamples, rng)
        d50 = statistics.median(p[0][0] - p[1][0] for p in pairs)
        d99 = statistics.median(p[0][1] - p[1][1] for p in pairs)
        print(f"{s:16s} {len(pairs):6d}  {a50:+9.1f}  {a99:+9.1f} | {a50 / ref50:5.2f} ({l50:.2f}-{h50:.2f})"
              f"    {a99 / ref99:5.2f} ({l99:.2f}-{h99:.2f})   | {d50:+.1f} / {d99:+.1f}")


if __name__ == "__main__":
    main()
