"""Inference latency and throughput of predict_proba: sknumpynet, scikit-learn and ONNX.

The same network shape is fitted by ``sknumpynet.MLPClassifier`` and
``sklearn.neural_network.MLPClassifier`` (a few epochs on synthetic
Fashion-MNIST-shaped data: 784 features, 10 classes, float32; inference time
does not depend on how well they trained), then timed side by side:

- **single row**: ``predict_proba`` of one row, called ``--single-calls``
  times; the median and 90th percentile of a call, in microseconds;
- **batch**: ``predict_proba`` of ``--batch-rows`` rows at once, best of
  ``--batch-repeats``; milliseconds per batch and rows per second;

for sknumpynet, scikit-learn, and sknumpynet's model exported with
:mod:`sknumpynet.onnx` and run in onnxruntime (``InferenceSession.run`` with
``zipmap=False``, one intra-op thread per ``--threads``). Ratios are against
scikit-learn. Both estimators are pinned to ``--threads`` BLAS threads.

Usage::

    python benchmarks/bench_inference.py [--hidden 256 128] [--single-calls 2000]
        [--batch-rows 10000] [--threads 1] [--out results.json]

Takes well under two minutes.
"""

import argparse
import json
import platform
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnMLP
from threadpoolctl import threadpool_limits

import sknumpynet
from sknumpynet import MLPClassifier


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 128],
                        help="hidden layer sizes (default 256 128)")
    parser.add_argument("--train-rows", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--single-calls", type=int, default=2000)
    parser.add_argument("--batch-rows", type=int, default=10000)
    parser.add_argument("--batch-repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="BLAS / onnxruntime threads")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    return parser.parse_args(argv)


def make_data(args):
    n = args.train_rows + args.batch_rows
    X, y = make_classification(n, 784, n_informative=60, n_classes=10,
                               random_state=args.random_state)
    X = X.astype(np.float32)
    return X[: args.train_rows], y[: args.train_rows], X[args.train_rows:]


def fit_models(args, X, y):
    common = dict(hidden_layer_sizes=tuple(args.hidden), max_iter=args.epochs,
                  random_state=args.random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(**common).fit(X, y)
        theirs = SklearnMLP(**common).fit(X, y)
    return ours, theirs


def onnx_predictor(model, X, threads):
    """A predict_proba for ``model`` through skl2onnx and onnxruntime, or None."""
    try:
        import onnxruntime as ort
        from skl2onnx import to_onnx

        import sknumpynet.onnx  # noqa: F401  (registers the converters)
    except ImportError as exc:
        print(f"ONNX left out: {exc}", file=sys.stderr)
        return None, None
    onx = to_onnx(model, X[:1], options={id(model): {"zipmap": False}})
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(onx.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def predict_proba(rows):
        return sess.run(["probabilities"], {name: rows})[0]

    return predict_proba, ort.__version__


def time_single(predict_proba, X, calls):
    times = np.empty(calls)
    for i in range(calls):
        row = X[i % len(X): i % len(X) + 1]
        start = time.perf_counter()
        predict_proba(row)
        times[i] = time.perf_counter() - start
    return {"median_us": float(np.median(times) * 1e6),
            "p90_us": float(np.percentile(times, 90) * 1e6)}


def time_batch(predict_proba, X, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict_proba(X)
        times.append(time.perf_counter() - start)
    best = min(times)
    return {"best_ms": best * 1e3, "rows_per_s": len(X) / best}


def main(argv=None):
    args = parse_args(argv)
    X, y, X_test = make_data(args)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        ours, theirs = fit_models(args, X, y)
        predictors = {"sknumpynet": ours.predict_proba, "scikit-learn": theirs.predict_proba}
        onnx, ort_version = onnx_predictor(ours, X_test, args.threads)
        if onnx is not None:
            predictors["sknumpynet ONNX (onnxruntime)"] = onnx
            gap = np.abs(onnx(X_test) - ours.predict_proba(X_test)).max()
            print(f"ONNX vs sknumpynet predict_proba: max abs difference {gap:.2e}")
        results = {}
        for name, predict_proba in predictors.items():
            time_single(predict_proba, X_test, 50)  # warm up
            results[name] = {
                "single_row": time_single(predict_proba, X_test, args.single_calls),
                "batch": time_batch(predict_proba, X_test, args.batch_repeats),
            }
    reference = results["scikit-learn"]
    print(f"\npredict_proba, MLP {args.hidden}, 784 features, 10 classes, float32, "
          f"{args.threads} thread(s)")
    print(f"{'':34s}{'1 row median':>14s}{'p90':>10s}{'vs sklearn':>12s}"
          f"{f'{args.batch_rows} rows':>14s}{'rows/s':>12s}{'vs sklearn':>12s}")
    for name, r in results.items():
        r["single_row_ratio_to_sklearn"] = (r["single_row"]["median_us"]
                                            / reference["single_row"]["median_us"])
        r["batch_ratio_to_sklearn"] = r["batch"]["best_ms"] / reference["batch"]["best_ms"]
        single = r["single_row"]
        print(f"{name:34s}{single['median_us']:11.1f} us{single['p90_us']:7.1f} us"
              f"{r['single_row_ratio_to_sklearn']:11.2f}x{r['batch']['best_ms']:11.1f} ms"
              f"{r['batch']['rows_per_s']:12.0f}{r['batch_ratio_to_sklearn']:11.2f}x")
    report = {
        "benchmark": "inference",
        "settings": vars(args),
        "versions": {"sknumpynet": sknumpynet.__version__, "scikit-learn": sklearn.__version__,
                     "numpy": np.__version__, "onnxruntime": ort_version,
                     "python": platform.python_version()},
        "machine": platform.platform(),
        "results": results,
    }
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == "__main__":
    main()
