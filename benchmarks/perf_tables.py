"""The performance page's tables, written as markdown from the benchmarks' JSON.

Each benchmark writes its timings to ``benchmarks/results/<name>.json``; this
script turns each into ``benchmarks/results/<name>.md``, which
``docs/performance.rst`` includes, so that every number the page shows is one
a benchmark measured. ``tests/test_performance_tables.py`` checks that the
``.md`` files are what this script makes of the JSON now::

    python benchmarks/perf_tables.py            # rewrite every table
    python benchmarks/perf_tables.py --check    # exit 1 if a table is stale
"""

import argparse
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MIB = 2**20
NAMES = {
    "sknumpynet": "sknumpynet",
    "sklearn": "scikit-learn MLPClassifier",
    "torch": "PyTorch (CPU)",
    "sknumpynet_before": "sknumpynet, before",
}


def _table(header, rows, right_from=1):
    align = ["---"] * right_from + ["---:"] * (len(header) - right_from)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def mlp(report):
    """Fashion-MNIST 784-256-128-10 (bench_mlp.py): time per epoch, accuracy, memory."""
    by = {r["system"]: r for r in report["results"]}
    ours, sk = by.get("sknumpynet"), by.get("sklearn")
    rows = []
    for r in report["results"]:
        t = r["median_epoch_seconds"]
        rows.append(
            [
                NAMES.get(r["system"], r["system"]),
                f"{t:.3f}",
                f"{t / ours['median_epoch_seconds']:.2f}" if ours else "",
                f"{sk['median_epoch_seconds'] / t:.2f}" if sk else "",
                f"{r['mean_test_accuracy']:.4f}",
                f"{r['peak_rss_mib']:.0f}",
                f"{r['predict_rows_per_s']:,.0f}" if "predict_rows_per_s" in r else "",
            ]
        )
    floor = report["gemm_floor_seconds"]
    rows.append(
        [
            "matrix products alone (floor)",
            f"{floor:.3f}",
            f"{floor / ours['median_epoch_seconds']:.2f}" if ours else "",
            "",
            "",
            "",
            "",
        ]
    )
    return _table(
        [
            "system",
            "s/epoch",
            "time / sknumpynet's",
            "x faster than scikit-learn",
            "test accuracy (mean over seeds)",
            "peak MiB",
            "predict_proba rows/s",
        ],
        rows,
    )


def mlp_before_after(report):
    """The same benchmark, the code before a change against after it, interleaved."""
    by = {r["system"]: r for r in report["results"]}
    before, after = by["sknumpynet_before"], by["sknumpynet"]

    def fastest(r):  # the fastest epoch of any run: what bursts of load elsewhere spare
        return min(s for run in r["runs"] for s in run["internal_epoch_seconds"])

    rows = []
    for label, r in (("before", before), ("after", after)):
        commit = report["before"]["commit" if label == "before" else "after_commit"]
        rows.append(
            [
                f"{label} ({commit})",
                f"{r['median_epoch_seconds']:.3f}",
                f"{r['median_epoch_seconds'] / before['median_epoch_seconds']:.3f}",
                f"{fastest(r):.3f}",
                f"{fastest(r) / fastest(before):.3f}",
                f"{r['mean_test_accuracy']:.4f}",
            ]
        )
    header = [
        "code",
        "s/epoch (median)",
        "median / before's",
        "fastest epoch (s)",
        "fastest / before's",
        "test accuracy (mean)",
    ]
    return _table(header, rows)


def threads(report):
    """bench_threads.py: the default n_threads against one thread and all cores."""
    rows = [
        [
            f"{r['state']} (load {r['load_before']['loadavg_1min']:.1f})",
            r["layers"],
            f"{r['work'] / 1e6:.1f} M",
            f"{r['default']:.3f}",
            f"{r['one_thread']:.3f}",
            f"{r['all_cores']:.3f}",
            f"{r['default_over_best']:.2f}",
        ]
        for r in report["rows"]
    ]
    return _table(
        [
            "machine",
            "network",
            "multiply-adds per step",
            "default (s)",
            "1 thread (s)",
            f"{report['cores']} threads (s)",
            "default / best",
        ],
        rows,
        right_from=2,
    )


def threads_sweep(report):
    """bench_threads.py --sweep: what a second core buys by the size of a step."""
    rows = [
        [
            f"784-{r['width']}-10",
            f"{r['work'] / 1e6:.1f} M",
            f"{r['one_thread_step'] * 1e3:.2f}",
            f"{r['all_cores_step'] * 1e3:.2f}",
            f"{r['gain']:.2f}",
        ]
        for r in report.get("sweep", [])
    ]
    return _table(
        [
            "network (batch 200)",
            "multiply-adds per step",
            "1 thread (ms/step)",
            f"{report['cores']} threads (ms/step)",
            "1 thread / all",
        ],
        rows,
    )


def memory(report):
    """bench_memory.py: peak memory of a fit in copies of the parameters."""
    rows = [
        [
            f"{r['code']} ({r['commit']})",
            r["solver"],
            str(r["rows"]),
            f"{r['parameter_bytes'] / MIB:.1f}",
            f"{r['data_bytes'] / MIB:.1f}",
            f"{r['peak_bytes'] / MIB:.1f}",
            f"{r['copies']:.2f}",
            f"{r['copies_beside_batch']:.2f}",
            str(len(r["expected"])),
            "yes" if r["within_target"] else "no",
        ]
        for r in report["rows"]
    ]
    return _table(
        [
            "code",
            "solver",
            "rows",
            "parameters (MiB)",
            "data (MiB)",
            "peak (MiB)",
            "peak / parameters",
            "(peak - batch) / parameters",
            "copies expected",
            "within 6 x parameters + data",
        ],
        rows,
        right_from=2,
    )


def inference(report):
    """bench_inference.py: one-row latency and batch throughput of predict_proba."""
    rows = [
        [
            name,
            f"{r['single_row']['median_us']:.0f}",
            f"{r['single_row_ratio_to_sklearn']:.2f}",
            f"{r['batch']['rows_per_s']:,.0f}",
            f"{r['batch_ratio_to_sklearn']:.2f}",
        ]
        for name, r in report["results"].items()
    ]
    return _table(
        [
            "system",
            "one row (us, median)",
            "/ scikit-learn's",
            "batch rows/s",
            "batch time / scikit-learn's",
        ],
        rows,
    )


def sparse(report):
    """bench_sparse.py: text-like sparse data."""
    rows = [
        [
            m["model"],
            f"{m['seconds']:.2f}",
            f"{m['test_accuracy']:.4f}",
            m["reference"],
            f"{m['speedup_vs_reference']:.2f}",
        ]
        for m in report["models"]
    ]
    return _table(["model", "fit (s)", "test accuracy", "reference", "reference time / time"], rows)


def small(report):
    """bench_small.py: LinearSVM against LinearSVC on small data."""
    rows = [
        [
            f["dataset"],
            f["multi_class"],
            f["loss"],
            f"{f['linearsvm_seconds'] * 1e3:.1f}",
            f"{f['linearsvc_seconds'] * 1e3:.1f}",
            f"{f['time_ratio']:.2f}",
            f"{f['objective_ratio']:.5f}",
            f"{f['linearsvm_train_accuracy']:.4f}",
            f"{f['linearsvc_train_accuracy']:.4f}",
        ]
        for f in report["fits"]
    ]
    return _table(
        [
            "data",
            "multi_class",
            "loss",
            "LinearSVM ms",
            "LinearSVC ms",
            "time ratio",
            "objective / tight",
            "accuracy",
            "LinearSVC accuracy",
        ],
        rows,
        right_from=3,
    )


def linear_svm(report):
    """bench_linear_svm.py: LinearSVM against LinearSVC and SGDClassifier on Fashion-MNIST."""
    rows = [
        [
            r["model"],
            str(r["epochs"]),
            f"{r['fit_seconds']:.2f}",
            f"{r['test_accuracy']:.4f}",
            f"{r['time_vs_LinearSVM']:.2f}",
        ]
        for r in report["results"]
    ]
    return _table(["model", "epochs", "fit (s)", "test accuracy", "time / LinearSVM's"], rows)


def search(report):
    """bench_search.py: GridSearchCV(MLPClassifier, n_jobs=2) by backend and n_threads."""
    rows = [
        [
            r["backend"],
            r["variant"],
            "yes" if r["refit"] else "no",
            f"{r['median_seconds']:.2f}",
            f"{r['ratio_to_n_threads_1']:.2f}",
        ]
        for r in report["results"]
    ]
    return _table(["backend", "variant", "refit", "median s", "/ n_threads=1"], rows, right_from=3)


#: table name -> (JSON it reads, renderer)
TABLES = {
    "mlp": ("mlp.json", mlp),
    "mlp_before_after": ("mlp_before_after.json", mlp_before_after),
    "threads": ("threads.json", threads),
    "threads_sweep": ("threads.json", threads_sweep),
    # the BLAS-thread sweep while other work loaded the shared machine (load 5-6);
    # its default-vs-best rows measured the code before nn.products and are not shown
    "threads_loaded_sweep": ("threads_loaded.json", threads_sweep),
    "memory": ("memory.json", memory),
    "inference": ("inference.json", inference),
    "sparse": ("sparse.json", sparse),
    "small": ("small.json", small),
    "linear_svm": ("linear_svm.json", linear_svm),
    "search": ("search.json", search),
}


def render(name, results=RESULTS):
    """The markdown of table ``name`` from its JSON under ``results``."""
    source, renderer = TABLES[name]
    return renderer(json.loads((Path(results) / source).read_text()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which tables are stale")
    args = parser.parse_args(argv)
    stale = []
    for name, (source, _) in TABLES.items():
        if not (RESULTS / source).exists():
            continue
        text, path = render(name), RESULTS / f"{name}.md"
        if not path.exists() or path.read_text() != text:
            stale.append(name)
            if not args.check:
                path.write_text(text)
    print(("stale: " if args.check else "rewrote: ") + (", ".join(stale) or "none"))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
