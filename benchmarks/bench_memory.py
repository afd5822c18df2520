"""Peak memory of a fit against the bytes of its parameters, with each copy accounted for.

A wide network (``--features`` inputs, one hidden layer of ``--hidden``
units, 3 classes) fitted on ``--rows`` rows of float32 data for 5 epochs,
with each solver; by default on 64 rows (one batch of 64 is the whole data, so
the batch the trainer gathers is as large as the data) and on 256 (four
batches); peak memory is the most bytes of numpy arrays alive at once
during ``fit``, above what was alive before it (``tracemalloc``: numpy reports
every array's buffer to it, so the figure counts exactly the arrays the fit
makes, whatever the allocator keeps or returns to the system, and not the
interpreter's or the BLAS's own buffers). The child process's ``ru_maxrss``
growth is recorded beside it as a check (it also counts pages the allocator
kept from before, so it reads lower or higher by a few MiB).

Every configuration runs in its own child process, and ``--before DIR`` runs
each one again on another copy of the code (``git worktree add DIR COMMIT``),
interleaved, so that before and after are measured alike::

    git worktree add /tmp/mem-before <commit>
    python benchmarks/bench_memory.py --before /tmp/mem-before

writes ``memory.json`` and ``memory.md`` under ``--out`` (benchmarks/results):
the peak in copies of the parameters, what the copies are expected to be, and
whether the peak is within 6 copies plus the data.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perf_tables  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SOLVERS = {"adam": {}, "sgd": {"momentum": 0.9}, "nadam": {}}
#: copies of the parameters a fit holds, per solver: what each one is
ACCOUNT = {
    "adam": ["parameters", "gradient", "Adam's m", "Adam's v"],
    "nadam": ["parameters", "gradient", "Nadam's m", "Nadam's v"],
    "sgd": ["parameters", "gradient", "momentum's velocity"],
}


def worker(args):
    from sknumpynet import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, args.features), dtype=np.float32)
    y = np.arange(args.rows) % 3
    model = MLPClassifier(
        (args.hidden,),
        solver=args.worker,
        max_iter=args.epochs,
        batch_size=args.batch,
        random_state=0,
        **SOLVERS[args.worker],
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
    n_params = sum(p.value.nbytes for p in model.network_.parameters())
    print(
        "RESULT "
        + json.dumps(
            {
                "solver": args.worker,
                "parameter_bytes": n_params,
                "data_bytes": X.nbytes,
                "peak_bytes": peak,
                "rss_growth_bytes": rss_growth,
            }
        )
    )


def run_child(solver, rows, args, tree):
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        solver,
        "--rows",
        str(rows),
        "--features",
        str(args.features),
        "--hidden",
        str(args.hidden),
        "--epochs",
        str(args.epochs),
        "--batch",
        str(args.batch),
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"{solver} on {tree} failed:\n{proc.stderr[-2000:]}")


def _commit(tree):
    proc = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return proc.stdout.strip() or None


def expected_copies(solver, code):
    """What each copy is, for the code ``before`` or ``after`` this benchmark's change."""
    live = ACCOUNT[solver]
    snapshots = ["snapshot 1 of parameters", "snapshot 2 of parameters"]
    if code == "before":  # the last epoch's snapshot held the optimizer's state too
        snapshots += [f"snapshot 1 of {n}" for n in live[2:]]
    return live + snapshots


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--features", type=int, default=100_000)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--before", default=None, help="a checkout of the earlier code")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        args.rows = args.rows[0]
        return worker(args)
    trees = ([("before", args.before)] if args.before else []) + [("after", REPO)]
    rows = []
    for n_rows, solver in [(n, s) for n in args.rows for s in SOLVERS]:
        for code, tree in trees:  # interleaved: before, after, per solver
            r = run_child(solver, n_rows, args, tree)
            # the batch the trainer gathers its rows into is a copy of (part of) the data
            batch_bytes = min(args.batch, n_rows) * args.features * 4
            r.update(
                rows=n_rows,
                code=code,
                commit=_commit(tree),
                copies=r["peak_bytes"] / r["parameter_bytes"],
                copies_beside_batch=(r["peak_bytes"] - batch_bytes) / r["parameter_bytes"],
                expected=expected_copies(solver, code),
                within_target=r["peak_bytes"] <= 6 * r["parameter_bytes"] + r["data_bytes"],
            )
            rows.append(r)
            print(
                f"{n_rows:5d} rows {code:6s} {solver:5s} peak {r['peak_bytes'] / 2**20:8.1f} MiB = "
                f"{r['copies']:.2f} x parameters ({r['copies_beside_batch']:.2f} beside the "
                f"batch; expected {len(r['expected'])}); ru_maxrss growth "
                f"{r['rss_growth_bytes'] / 2**20:.1f} MiB",
                flush=True,
            )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {k: getattr(args, k) for k in ("rows", "features", "hidden", "epochs", "batch")}
    (out / "memory.json").write_text(
        json.dumps({"settings": settings, "rows": rows}, indent=1) + "\n"
    )
    report = {"settings": settings, "rows": rows}
    (out / "memory.md").write_text(perf_tables.memory(report))  # the docs' table
    print(perf_tables.memory(report))


if __name__ == "__main__":
    main()
