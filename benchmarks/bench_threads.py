"""BLAS threads chosen by work: the default ``n_threads`` against one thread and all cores.

Three workloads, each on a quiet and on a busy machine:

- small: the digits network, 64-100-10, batch 200 (``load_digits`` / 16);
- medium: 784-256-128-10 (the MLP benchmark's network), batch 200, and
- large: 784-1024-1024-10, batch 200, both on Fashion-MNIST-sized random data
  (or the first rows of the real Fashion-MNIST with ``--data``).

Each is fitted with ``n_threads=None`` (the default), ``n_threads=1`` and
``n_threads=<all cores>``, interleaved in a rotating order (default, one,
all; one, all, default; ...), ``--repeats`` times; the table gives the median
seconds of each and the default's ratio to the best of one thread and all
cores (the target is at most 1.3). "Busy" is the same with ``--busy`` other
processes (one per core by default) spinning pure-Python loops, started and
stopped here. The machine's load (``/proc/loadavg`` and the running processes
of ``/proc/stat``) is recorded before each state: on a shared machine "quiet"
is only as quiet as the other users leave it.

``--sweep`` also times one-hidden-layer networks of growing width with one
thread and all cores on the quiet machine: the multiply-adds per step where a
second core starts to pay is what ``sknumpynet._runtime.SMALL_WORK`` is set
from.

    python benchmarks/bench_threads.py --sweep

writes ``threads.json`` and ``threads.md`` under ``--out`` (benchmarks/results).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perf_tables  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BATCH = 200
#: hidden layers, epochs and rows of each workload
WORKLOADS = {"small": ((100,), 30, None), "medium": ((256, 128), 1, 12000),
             "large": ((1024, 1024), 1, 6000)}
SWEEP_WIDTHS = (16, 64, 128, 256, 512, 1024, 2048)


def load_workload(name, data, rows):
    """``(X, y)`` of a workload, float32."""
    if name == "small":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return (X / 16.0).astype(np.float32), y
    if data:
        from sknumpynet.datasets import fetch_fashion_mnist

        X, y = fetch_fashion_mnist(data, subset="train", return_X_y=True, download_if_missing=False)
        return X[:rows].astype(np.float32) / 255, y[:rows]
    rng = np.random.default_rng(0)
    return rng.random((rows, 784), dtype=np.float32), rng.integers(0, 10, rows)


def fit_seconds(X, y, hidden, epochs, n_threads):
    from sknumpynet import MLPClassifier

    model = MLPClassifier(
        hidden,
        batch_size=BATCH,
        max_iter=epochs,
        n_iter_no_change=np.inf,
        random_state=0,
        n_threads=n_threads,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - start


def machine_load():
    """The 1-minute load average and the processes running now (``/proc/stat``)."""
    load = {"loadavg_1min": os.getloadavg()[0]}
    try:
        stat = Path("/proc/stat").read_text().split("\n")
        load["procs_running"] = int(
            next(s for s in stat if s.startswith("procs_running")).split()[1]
        )
    except (OSError, StopIteration):
        pass
    return load


def time_modes(X, y, hidden, epochs, cores, repeats):
    """Median seconds of each mode, interleaved repeats.

    The order rotates with each repeat (default, one, all; one, all, default;
    ...): OpenBLAS's threads spin for a while after an all-core fit, which
    slows whatever fit comes next, so no mode may always follow the same one.
    """
    modes = [("default", None), ("one_thread", 1), ("all_cores", cores)]
    times = {mode: [] for mode, _ in modes}
    fit_seconds(X[: BATCH * 2], y[: BATCH * 2], hidden, 1, None)  # warm the BLAS up
    for r in range(repeats):
        for mode, n in modes[r % 3 :] + modes[: r % 3]:
            times[mode].append(fit_seconds(X, y, hidden, epochs, n))
    return {mode: statistics.median(t) for mode, t in times.items()}, times


def run_state(state, args, cores):
    from sknumpynet._runtime import matmul_work
    from sknumpynet.nn import Linear, Sequential

    rows = []
    load = machine_load()
    for name, (hidden, epochs, n_rows) in WORKLOADS.items():
        X, y = load_workload(name, args.data, args.rows or n_rows)
        widths = (X.shape[1], *hidden, len(np.unique(y)))
        layers = [Linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
        medians, times = time_modes(X, y, hidden, epochs, cores, args.repeats)
        best = min(medians["one_thread"], medians["all_cores"])
        row = {
            "state": state,
            "workload": name,
            "layers": "-".join(map(str, widths)),
            "rows": X.shape[0],
            "epochs": epochs,
            "batch": BATCH,
            "work": matmul_work(Sequential(*layers), BATCH),
            "cores": cores,
            **medians,
            "default_over_best": medians["default"] / best,
            "times": times,
            "load_before": load,
        }
        rows.append(row)
        print(
            f"{state:5s} {name:5s} default {medians['default']:7.3f} s  1 thread "
            f"{medians['one_thread']:7.3f} s  {cores} threads {medians['all_cores']:7.3f} s  "
            f"default/best x{row['default_over_best']:.2f}  load {load}",
            flush=True,
        )
    return rows


def sweep(cores, repeats):
    """One-thread and all-core seconds per step of 784-w-10 networks, batch 200."""
    from sknumpynet._runtime import matmul_work
    from sknumpynet.nn import Linear, Sequential

    rng = np.random.default_rng(0)
    out = []
    for width in SWEEP_WIDTHS:
        work = matmul_work(Sequential(Linear(784, width), Linear(width, 10)), BATCH)
        steps = int(max(5, min(1000, 1.5e10 / (6 * work))))
        X = rng.random((steps * BATCH, 784), dtype=np.float32)
        y = rng.integers(0, 10, steps * BATCH)
        times = {1: [], cores: []}
        for _ in range(repeats):
            for n in times:
                times[n].append(fit_seconds(X, y, (width,), 1, n) / steps)
        one, every = statistics.median(times[1]), statistics.median(times[cores])
        out.append(
            {
                "width": width,
                "work": work,
                "one_thread_step": one,
                "all_cores_step": every,
                "gain": one / every,
                "load": machine_load(),
            }
        )
        print(
            f"sweep 784-{width}-10  work {work / 1e6:7.1f} M  1 thread {one * 1e3:7.2f} ms  "
            f"{cores} threads {every * 1e3:7.2f} ms  gain x{one / every:.2f}",
            flush=True,
        )
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None,
                        help="Fashion-MNIST folder for the medium and large nets")
    parser.add_argument("--rows", type=int, default=None,
                        help="rows of the medium and large workloads")
    parser.add_argument("--busy", type=int, default=None, help="busy processes (all cores)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sweep", action="store_true", help="also time widths for the threshold")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    from joblib import cpu_count

    from sknumpynet._runtime import SMALL_WORK

    cores = cpu_count()
    result = {"cores": cores, "small_work": SMALL_WORK, "repeats": args.repeats}
    if args.sweep:
        result["sweep"] = sweep(cores, args.repeats)
    rows = run_state("quiet", args, cores)
    n_busy = cores if args.busy is None else args.busy
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n_busy)]
    try:
        time.sleep(1.0)
        rows += run_state("busy", args, cores)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    result.update(busy_processes=n_busy, rows=rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "threads.json").write_text(json.dumps(result, indent=1) + "\n")
    for name in ("threads", "threads_sweep"):  # the docs' tables (benchmarks/perf_tables.py)
        (out / f"{name}.md").write_text(getattr(perf_tables, name)(result))
    print(perf_tables.threads(result))


if __name__ == "__main__":
    main()
