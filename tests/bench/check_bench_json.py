#!/usr/bin/env python3
"""The JSON rows of phasespace-bench keep their contract: the fields the README lists, the
per-pair ratios consistent with each other, `busy` a verdict only with enough pairs, and a
warning on stderr for each busy row. Nothing here depends on how fast anything ran.
usage: check_bench_json.py PHASESPACE_BENCH WORKDIR"""
import json, math, os, subprocess, sys

bench, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
fields = ["stage", "backend", "precision", "shape", "seconds", "spread", "floor", "floor_seconds",
          "ratio", "ratio_median", "ratio_q1", "ratio_q3", "ratio_spread", "ratio_of_minima",
          "pairs", "cpu_wait", "busy", "gbytes_per_s", "device"]
busy_cpu_wait, busy_spread, busy_min_pairs = 0.05, 0.20, 5  # as benchmarks/bench.hpp and the README say


def run(stage, repeat):
    path = os.path.join(work, f"{stage}-{repeat}.json")
    done = subprocess.run([bench, "--stage", stage, "--size", "small", "--repeat", str(repeat),
                           "--json", path], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{stage} --repeat {repeat}: exit {done.returncode}\n{done.stderr}"
    with open(path) as handle:
        return json.load(handle), done.stderr


for stage, repeat in [("splitstep", 5), ("projection", 7), ("splitstep", 3)]:
    rows, stderr = run(stage, repeat)
    assert rows, f"{stage}: no rows"
    for row in rows:
        where = f'{stage} --repeat {repeat}, row "{row.get("shape")}"'
        missing = [name for name in fields if name not in row]
        assert not missing, f"{where}: missing fields {missing}"
        for name in fields:
            if isinstance(row[name], float):
                assert math.isfinite(row[name]), f"{where}: {name} = {row[name]}"
        assert row["pairs"] == repeat, f'{where}: pairs = {row["pairs"]}, expected {repeat}'
        for name in ["seconds", "floor_seconds", "ratio", "ratio_median", "ratio_q1", "ratio_of_minima"]:
            assert row[name] > 0, f"{where}: {name} = {row[name]}"
        assert row["ratio_q1"] <= row["ratio_median"] <= row["ratio_q3"], f"{where}: quartiles {row}"
        assert math.isclose(row["ratio"], row["seconds"] / row["floor_seconds"], rel_tol=1e-9), where
        expected_spread = (row["ratio_q3"] - row["ratio_q1"]) / row["ratio_median"]
        assert math.isclose(row["ratio_spread"], expected_spread, rel_tol=1e-9, abs_tol=1e-15), where
        wait = row["cpu_wait"]
        assert wait is None or 0 <= wait <= 1, f"{where}: cpu_wait = {wait}"
        spread_tells = repeat >= busy_min_pairs
        if wait is None and not spread_tells:
            assert row["busy"] is None, f'{where}: busy = {row["busy"]} from {repeat} pairs, no cpu_wait'
        else:
            expected = ((wait is not None and wait > busy_cpu_wait) or
                        (spread_tells and row["ratio_spread"] > busy_spread))
            assert row["busy"] is expected, f"{where}: busy {row['busy']}, expected {expected}"
        warned = f'{row["stage"]} {row["backend"]} {row["precision"]} {row["shape"]}: the machine was busy' in stderr
        assert warned == bool(row["busy"]), f"{where}: busy {row['busy']}, warned {warned}\n{stderr}"
print("bench JSON rows: contract kept")
