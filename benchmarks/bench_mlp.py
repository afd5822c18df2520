"""Training and inference speed of an MLP: sknumpynet vs scikit-learn vs PyTorch (CPU).

Workload (the performance issue's): Fashion-MNIST, pixels / 255 as float32, a
784-256-128-10 ReLU network, Adam (lr 1e-3), batch 256, L2 ``alpha = 1e-4``, a
fixed number of epochs. Each system runs in its own subprocess so that its peak
resident memory is its own; all run in one invocation::

    python benchmarks/bench_mlp.py --data ../shared/data/fashion-mnist --epochs 5

runs every system ``--repeats`` times (3 by default), interleaved (A B C A B C
...), repeat ``r`` with seed ``r`` for every system; prints the median time per
epoch with the ratio of every system to sknumpynet and to scikit-learn, the test
accuracy as a mean (and spread) over the seeds, and writes ``mlp.json`` under
``--out`` (``benchmarks/results``).

Every system is timed the same way: the wall time of one call that trains for
``--epochs`` epochs from the numpy arrays (``fit`` for sknumpynet and
scikit-learn, with ``max_iter=epochs`` and the stopping rule off; for PyTorch
the conversion of the arrays to tensors and the training loop), divided by the
number of epochs. Whatever a system does besides the minibatch steps (input
validation, per-epoch loss bookkeeping, weight copies) is in its time.

The same objective for all three. scikit-learn's MLP adds to each batch's mean
loss the L2 term ``alpha / (2 n_b) * sum_l ||W_l||^2`` over the weights (not the
biases), ``n_b`` the batch's row count; its gradient is ``alpha / n_b * W_l``.
sknumpynet does the same. PyTorch gets that term added to its loss explicitly,
per batch with the batch's own ``n_b``. (Adam's ``weight_decay=wd`` adds
``wd * W`` to the gradient before the moments, which is the same gradient with
``wd = alpha / n_b``, for the weights only, in a parameter group without the
biases; the explicit term is exact for the last, smaller batch too.)

The GEMM floor is the time of the matrix products alone: for every layer
``(in, out)`` and batch ``b`` one forward ``(b, in) @ (in, out)`` and two
backward products, 6 * n_samples * sum(in * out) FLOPs per epoch, timed on
this machine with numpy's BLAS on the exact shapes.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

HIDDEN = (256, 128)
BATCH = 256
LR = 1e-3
ALPHA = 1e-4  # the L2 strength: scikit-learn's and sknumpynet's default
SEED = 0  # of the GEMM floor's random matrices
REPO = Path(__file__).resolve().parents[1]
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
DEFAULT_DATA = os.environ.get(
    "SKNUMPYNET_TEST_FASHION_MNIST", str(REPO.parent / "shared" / "data" / "fashion-mnist")
)


def load(data, max_samples=None):
    from sknumpynet.datasets import fetch_fashion_mnist

    X, y = fetch_fashion_mnist(data, subset="train", return_X_y=True, download_if_missing=False)
    Xt, yt = fetch_fashion_mnist(data, subset="test", return_X_y=True, download_if_missing=False)
    if max_samples:
        X, y = X[:max_samples], y[:max_samples]
    return (X.astype(np.float32) / 255, y, Xt.astype(np.float32) / 255, yt)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- one system per subprocess ------------------------------------------------


def train_sknumpynet(X, y, Xt, yt, epochs, seed):
    from sknumpynet import MLPClassifier

    clf = MLPClassifier(
        HIDDEN, batch_size=BATCH, learning_rate_init=LR, alpha=ALPHA, max_iter=epochs,
        tol=0.0, n_iter_no_change=epochs + 1, random_state=seed,
    )
    seconds = timed_fit(clf, X, y)
    internal = [h["seconds"] for h in clf.history_]  # its own per-epoch timer, for reference
    return seconds, clf.score(Xt, yt), clf, {"internal_epoch_seconds": internal}


def train_sklearn(X, y, Xt, yt, epochs, seed):
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        HIDDEN, batch_size=BATCH, learning_rate_init=LR, alpha=ALPHA, max_iter=epochs,
        tol=0.0, n_iter_no_change=epochs + 1, random_state=seed, shuffle=True,
    )
    seconds = timed_fit(clf, X, y)
    return seconds, clf.score(Xt, yt), clf, {}


def timed_fit(clf, X, y):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ConvergenceWarning of a fixed epoch count
        start = time.perf_counter()
        clf.fit(X, y)
        return time.perf_counter() - start


def train_torch(X, y, Xt, yt, epochs, seed):
    import torch

    warm_up_torch()
    start = time.perf_counter()
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(784, HIDDEN[0]), torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN[0], HIDDEN[1]), torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN[1], 10),
    )
    weights = [m.weight for m in net if isinstance(m, torch.nn.Linear)]
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xg, yg = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(Xg), generator=gen)
        for i in range(0, len(Xg), BATCH):
            idx = order[i : i + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(Xg[idx]), yg[idx])
            # scikit-learn's L2 term: alpha / (2 n_b) * sum ||W||^2 (weights only)
            loss = loss + (0.5 * ALPHA / len(idx)) * sum(w.pow(2).sum() for w in weights)
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        acc = (net(torch.from_numpy(Xt)).argmax(1).numpy() == yt).mean()
    return seconds, float(acc), net, {}


def warm_up_torch():
    """One throwaway Adam step: PyTorch imports parts of itself (the optimizer's
    compile machinery) at the first step, a second or two that the other systems
    spend on ``import`` before their timed fit."""
    import torch

    w = torch.zeros(2, requires_grad=True)
    opt = torch.optim.Adam([w], lr=LR)
    (w.sum() ** 2).backward()
    opt.step()


def predict_rows(model, system, n_rows, Xt):
    """predict_proba throughput on ``n_rows`` rows tiled from the test set."""
    X = np.resize(Xt, (n_rows, Xt.shape[1]))
    before = peak_rss_mib()
    start = time.perf_counter()
    if system == "torch":
        import torch

        with torch.no_grad():
            chunks = [torch.softmax(model(torch.from_numpy(X[i : i + 65536])), 1).numpy()
                      for i in range(0, n_rows, 65536)]
        proba = np.concatenate(chunks)
    else:
        proba = model.predict_proba(X)
    seconds = time.perf_counter() - start
    assert proba.shape == (n_rows, 10)
    return n_rows / seconds, peak_rss_mib() - before


def worker(args):
    X, y, Xt, yt = load(args.data, args.max_samples)
    data_mib = peak_rss_mib()
    train = {"sknumpynet": train_sknumpynet, "sklearn": train_sklearn, "torch": train_torch,
             "sknumpynet_before": train_sknumpynet}
    seconds, acc, model, extra = train[args.worker](X, y, Xt, yt, args.epochs, args.seed)
    result = {
        "system": args.worker,
        "seed": args.seed,
        "fit_seconds": seconds,
        "epoch_seconds": seconds / args.epochs,
        "test_accuracy": acc,
        "peak_rss_mib": peak_rss_mib(),
        "rss_after_data_mib": data_mib,
        **extra,
    }
    if args.predict_rows:
        rows_per_s, extra = predict_rows(model, args.worker, args.predict_rows, Xt)
        result["predict_rows_per_s"] = rows_per_s
        result["predict_extra_peak_mib"] = extra
    print("RESULT " + json.dumps(result))


def combine(runs):
    """One system's runs (one per seed) as one result: medians of the timings, the
    mean and spread of the test accuracy over the seeds, the largest memory."""
    accuracies = [r["test_accuracy"] for r in runs]
    result = {
        "system": runs[0]["system"],
        "runs": runs,
        "seeds": [r["seed"] for r in runs],
        "median_epoch_seconds": statistics.median(r["epoch_seconds"] for r in runs),
        "mean_test_accuracy": statistics.fmean(accuracies),
        "min_test_accuracy": min(accuracies),
        "max_test_accuracy": max(accuracies),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
    }
    if "predict_rows_per_s" in runs[0]:
        result["predict_rows_per_s"] = statistics.median(r["predict_rows_per_s"] for r in runs)
        result["predict_extra_peak_mib"] = max(r["predict_extra_peak_mib"] for r in runs)
    return result


# -- the GEMM floor -------------------------------------------------------------


def gemm_floor(n_samples, repeats=30):
    rng = np.random.default_rng(SEED)
    sizes = (784, *HIDDEN, 10)
    per_batch, flops = 0.0, 0.0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        x = rng.random((BATCH, fan_in), dtype=np.float32)
        w = rng.random((fan_in, fan_out), dtype=np.float32)
        g = rng.random((BATCH, fan_out), dtype=np.float32)
        dw = np.empty_like(w)
        best = np.inf
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(repeats):
                x @ w
                np.matmul(x.T, g, out=dw)
                g @ w.T
            best = min(best, (time.perf_counter() - start) / repeats)
        per_batch += best
        flops += 6 * BATCH * fan_in * fan_out
    batches = n_samples / BATCH
    return per_batch * batches, flops / per_batch / 1e9, 6 * n_samples * sum(
        a * b for a, b in zip(sizes[:-1], sizes[1:])
    ) / 1e9


# -- the driver ---------------------------------------------------------------------


def run_system(system, args, seed):
    cmd = [sys.executable, __file__, "--worker", system, "--data", args.data,
           "--epochs", str(args.epochs), "--predict-rows", str(args.predict_rows),
           "--seed", str(seed)]
    if args.max_samples:
        cmd += ["--max-samples", str(args.max_samples)]
    env = dict(os.environ)
    if system == "sknumpynet_before":  # the same benchmark on another copy of the code
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.before, env.get("PYTHONPATH")]))
    if args.threads:  # read by OpenBLAS, MKL and PyTorch's OpenMP pool at start-up
        env.update({v: str(args.threads) for v in THREAD_VARS})
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    print(f"{system} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=DEFAULT_DATA, help="folder with the Fashion-MNIST IDX files"
    )
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--max-samples", type=int, default=None)
    parser.add_argument("--predict-rows", type=int, default=200_000)
    parser.add_argument("--systems", default="sknumpynet,sklearn,torch")
    parser.add_argument(
        "--repeats", type=int, default=3,
        help="interleaved runs of every system, run r with seed r (median time, mean accuracy)",
    )
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--threads", type=int, default=None,
        help="BLAS / OpenMP threads of every system (default: each library's own default)",
    )
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    parser.add_argument(
        "--before", default=None,
        help="a checkout of earlier code (git worktree add DIR COMMIT): adds the system "
        "sknumpynet_before, interleaved with the others, and writes mlp_before_after.json",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    systems = args.systems.split(",") + (["sknumpynet_before"] if args.before else [])
    if "torch" in systems:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("PyTorch not installed: skipping it (pip install torch==2.13.0).")
            systems.remove("torch")
    # Interleaved repeats (A B C A B C ...): on a shared machine a burst of
    # load from elsewhere then hits one run of each system, not one system.
    runs = {s: [] for s in systems}
    floors = []
    n_samples = args.max_samples or 60000
    for seed in range(args.repeats):
        for s in systems:
            r = run_system(s, args, seed)
            if r:
                runs[s].append(r)
        with threadpool_limits(limits=args.threads):
            floors.append(gemm_floor(n_samples))
    results = [combine(rs) for rs in runs.values() if rs]
    floor, gflops, gflop_epoch = min(floors)

    print(f"\nFashion-MNIST, 784-256-128-10 ReLU, Adam lr={LR}, alpha={ALPHA}, batch {BATCH}, "
          f"{args.epochs} epochs, {n_samples} training rows, float32, "
          f"{args.threads or 'default'} BLAS threads; wall time of the whole "
          f"fit / epochs, median of {args.repeats} interleaved runs (seeds 0..{args.repeats - 1}); "
          f"test accuracy: mean over the seeds")
    print_table(results, floor, gflops, gflop_epoch)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"benchmark": "bench_mlp", "epochs": args.epochs, "n_samples": n_samples,
              "alpha": ALPHA, "batch_size": BATCH, "learning_rate": LR,
              "repeats": args.repeats, "timing": "wall time of fit / epochs",
              "threads": args.threads,
              "gemm_floor_seconds": floor, "gemm_gflops": gflops,
              "gflop_per_epoch": gflop_epoch, "results": results,
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "load_average": list(os.getloadavg())}}
    if args.before:
        report["before"] = {"tree": args.before, "commit": _commit(args.before),
                            "after_commit": _commit(REPO)}
    name = "mlp_before_after.json" if args.before else "mlp.json"
    (out / name).write_text(json.dumps(report, indent=2))
    print(f"wrote {out / name}")


def _commit(tree):
    proc = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True)
    return proc.stdout.strip() or None


def print_table(results, floor, gflops, gflop_epoch):
    by_name = {r["system"]: r for r in results}
    ours, sk = by_name.get("sknumpynet"), by_name.get("sklearn")
    before = by_name.get("sknumpynet_before")
    header = (f"{'system':<12}{'s/epoch':>9}{'/sknn':>7}{'/sklearn':>9}{'test acc':>10}"
              f"{'(min-max)':>15}{'peak MiB':>10}{'predict rows/s':>16}{'pred MiB':>10}")
    print(header)
    print("-" * len(header))
    for r in results:
        t = r["median_epoch_seconds"]
        r["time_ratio_to_sknumpynet"] = t / ours["median_epoch_seconds"] if ours else None
        r["time_ratio_to_sklearn"] = t / sk["median_epoch_seconds"] if sk else None
        spread = f"({r['min_test_accuracy']:.4f}-{r['max_test_accuracy']:.4f})"
        print(f"{r['system']:<12}{t:>9.3f}{_fmt(r['time_ratio_to_sknumpynet']):>7}"
              f"{_fmt(r['time_ratio_to_sklearn']):>9}{r['mean_test_accuracy']:>10.4f}"
              f"{spread:>15}{r['peak_rss_mib']:>10.0f}"
              f"{r.get('predict_rows_per_s', float('nan')):>16,.0f}"
              f"{r.get('predict_extra_peak_mib', float('nan')):>10.0f}")
    print(f"{'GEMM floor':<12}{floor:>9.3f}   "
          f"({gflop_epoch:.1f} GFLOP/epoch at {gflops:.0f} GFLOP/s)")
    if ours:
        share = ours["median_epoch_seconds"] / floor
        print(f"sknumpynet takes {share:.2f}x the GEMM floor")
        internal = statistics.median(
            s for run in ours["runs"] for s in run.get("internal_epoch_seconds", [])
        )
        print(f"(sknumpynet's own per-epoch timer, median: {internal:.3f} s)")
    if ours and before:
        print(f"after / before: {ours['median_epoch_seconds'] / before['median_epoch_seconds']:.3f}"
              " in time per epoch")
    print("/sknn, /sklearn: time per epoch over sknumpynet's, scikit-learn's "
          "(>1: slower); pred MiB: extra peak memory while predicting")


def _fmt(ratio):
    return "-" if ratio is None else f"{ratio:.2f}"


if __name__ == "__main__":
    main()
