"""BLAS threads for the tabular recipe: one against all cores, on a quiet and a busy machine.

A fit of ``TabularMLPClassifier``/``TabularMLPRegressor`` (32 epochs of the
default network) on two tables, with ``n_threads=1``, ``n_threads=<all
cores>`` and the default (threads by work), best of ``--repeats``; then the
same while ``--busy`` other processes keep cores busy (started and stopped
here). The ratio says what a second core buys, or costs, and so which default
is never far from the best.

    python benchmarks/bench_tabular_threads.py --data ../shared/data/tabular
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tabular import DEFAULT_DATA, load_table  # noqa: E402

TABLES = (("hmda_deny", 2380), ("cps1988_wage", 8000))


def fit_seconds(X, y, task, n_threads, repeats):
    from sknumpynet import TabularMLPClassifier, TabularMLPRegressor

    cls = TabularMLPClassifier if task == "classification" else TabularMLPRegressor
    best = float("inf")
    for _ in range(repeats):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            cls(random_state=0, n_threads=n_threads, max_iter=32).fit(X, y)
            best = min(best, time.perf_counter() - start)
    return best


def run(state, data, cores, repeats):
    rows = []
    for name, n_rows in TABLES:
        X, y, task = load_table(name, data)
        X, y = X.iloc[:n_rows], y.iloc[:n_rows]
        one = fit_seconds(X, y, task, 1, repeats)
        every = fit_seconds(X, y, task, cores, repeats)
        default = fit_seconds(X, y, task, None, repeats)  # by work (bench_threads.py)
        rows.append({"state": state, "table": name, "rows": n_rows, "one_thread": one,
                     "all_cores": every, "default": default, "cores": cores})
        print(f"{state:6s} {name:14s} {n_rows:6d} rows  1 thread {one:6.2f} s  "
              f"{cores} threads {every:6.2f} s  second core: x{one / every:.2f}  "
              f"default {default:6.2f} s", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--busy", type=int, default=2, help="busy processes for the busy run")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=None, help="JSON of the timings")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    rows = run("quiet", args.data, cores, args.repeats)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(args.busy)]
    try:
        rows += run("busy", args.data, cores, args.repeats)
    finally:
        for p in busy:
            p.kill()
    if args.out:
        Path(args.out).write_text(json.dumps({"busy_processes": args.busy, "rows": rows},
                                             indent=1))


if __name__ == "__main__":
    main()
