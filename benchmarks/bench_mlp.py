"""Training and inference speed of an MLP: sknumpynet vs scikit-learn vs PyTorch (CPU).

Workload (the performance issue's): Fashion-MNIST, pixels / 255 as float32, a
784-256-128-10 ReLU network, Adam (lr 1e-3), batch 256, a fixed number of
epochs, one seed for everything. Each system runs in its own subprocess so
that its peak resident memory is its own; all run in one invocation::

    python benchmarks/bench_mlp.py --data ../shared/data/fashion-mnist --epochs 5

runs every system ``--repeats`` times (3 by default), interleaved, and
prints a table of medians with the ratio of every system to sknumpynet, and writes
``results/bench_mlp.json`` and ``results/bench_mlp.png`` under ``--out``.

The GEMM floor is the time of the matrix products alone: for every layer
``(in, out)`` and batch ``b`` one forward ``(b, in) @ (in, out)`` and two
backward products, 6 * n_samples * sum(in * out) FLOPs per epoch, timed on
this machine with numpy's BLAS on the exact shapes.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HIDDEN = (256, 128)
BATCH = 256
LR = 1e-3
SEED = 0
REPO = Path(__file__).resolve().parents[1]
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


def train_sknumpynet(X, y, Xt, yt, epochs):
    from sknumpynet import MLPClassifier

    clf = MLPClassifier(
        HIDDEN, batch_size=BATCH, learning_rate_init=LR, max_iter=epochs, tol=0.0,
        n_iter_no_change=epochs + 1, random_state=SEED,
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    seconds = [h["seconds"] for h in clf.history_]
    return seconds, clf.score(Xt, yt), clf


def train_sklearn(X, y, Xt, yt, epochs):
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        HIDDEN, batch_size=BATCH, learning_rate_init=LR, random_state=SEED, shuffle=True,
    )
    classes = np.unique(y)
    seconds = []
    for _ in range(epochs):  # partial_fit = one epoch with the Adam state kept
        start = time.perf_counter()
        clf.partial_fit(X, y, classes=classes)
        seconds.append(time.perf_counter() - start)
    return seconds, clf.score(Xt, yt), clf


def train_torch(X, y, Xt, yt, epochs):
    import torch

    torch.manual_seed(SEED)
    net = torch.nn.Sequential(
        torch.nn.Linear(784, HIDDEN[0]), torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN[0], HIDDEN[1]), torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN[1], 10),
    )
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xg, yg = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    gen = torch.Generator().manual_seed(SEED)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(Xg), generator=gen)
        for i in range(0, len(Xg), BATCH):
            idx = order[i : i + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(Xg[idx]), yg[idx])
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
    with torch.no_grad():
        acc = (net(torch.from_numpy(Xt)).argmax(1).numpy() == yt).mean()
    return seconds, float(acc), net


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
    train = {"sknumpynet": train_sknumpynet, "sklearn": train_sklearn, "torch": train_torch}
    seconds, acc, model = train[args.worker](X, y, Xt, yt, args.epochs)
    result = {
        "system": args.worker,
        "epoch_seconds": seconds,
        "median_epoch_seconds": statistics.median(seconds),
        "test_accuracy": acc,
        "peak_rss_mib": peak_rss_mib(),
        "rss_after_data_mib": data_mib,
    }
    if args.predict_rows:
        rows_per_s, extra = predict_rows(model, args.worker, args.predict_rows, Xt)
        result["predict_rows_per_s"] = rows_per_s
        result["predict_extra_peak_mib"] = extra
    print("RESULT " + json.dumps(result))


def combine(runs):
    """One system's runs as one result: medians of the timings, the largest memory."""
    result = dict(runs[0])
    result["runs"] = runs
    result["median_epoch_seconds"] = statistics.median(r["median_epoch_seconds"] for r in runs)
    result["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    if "predict_rows_per_s" in result:
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


def run_system(system, args):
    cmd = [sys.executable, __file__, "--worker", system, "--data", args.data,
           "--epochs", str(args.epochs), "--predict-rows", str(args.predict_rows)]
    if args.max_samples:
        cmd += ["--max-samples", str(args.max_samples)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
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
    parser.add_argument("--predict-rows", type=int, default=1_000_000)
    parser.add_argument("--systems", default="sknumpynet,sklearn,torch")
    parser.add_argument(
        "--repeats", type=int, default=3, help="interleaved runs of every system (median)"
    )
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    systems = args.systems.split(",")
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
    for _ in range(args.repeats):
        for s in systems:
            r = run_system(s, args)
            if r:
                runs[s].append(r)
        floors.append(gemm_floor(n_samples))
    results = [combine(rs) for rs in runs.values() if rs]
    floor, gflops, gflop_epoch = min(floors)
    ours = next((r for r in results if r["system"] == "sknumpynet"), None)

    print(f"\nFashion-MNIST, 784-256-128-10 ReLU, Adam lr={LR}, batch {BATCH}, "
          f"{args.epochs} epochs, {n_samples} training rows, float32, "
          f"median of {args.repeats} interleaved runs")
    header = (f"{'system':<12}{'s/epoch':>9}{'x sknn':>8}{'test acc':>10}"
              f"{'peak MiB':>10}{'predict rows/s':>16}{'x sknn':>8}{'pred MiB':>10}")
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = r["median_epoch_seconds"] / ours["median_epoch_seconds"] if ours else float("nan")
        r["time_ratio_to_sknumpynet"] = ratio
        rps = r.get("predict_rows_per_s", float("nan"))
        rps_ratio = (ours.get("predict_rows_per_s", np.nan) / rps) if ours else float("nan")
        r["predict_speedup_of_sknumpynet"] = rps_ratio
        print(f"{r['system']:<12}{r['median_epoch_seconds']:>9.3f}{ratio:>8.2f}"
              f"{r['test_accuracy']:>10.4f}{r['peak_rss_mib']:>10.0f}{rps:>16,.0f}"
              f"{rps_ratio:>8.2f}{r.get('predict_extra_peak_mib', float('nan')):>10.0f}")
    print(f"{'GEMM floor':<12}{floor:>9.3f}   "
          f"({gflop_epoch:.1f} GFLOP/epoch at {gflops:.0f} GFLOP/s)")
    if ours:
        share = ours["median_epoch_seconds"] / floor
        print(f"sknumpynet takes {share:.2f}x the GEMM floor "
              f"({100 * (share - 1):+.0f}% over the matrix products alone)")
    print("'x sknn': time relative to sknumpynet (>1 means sknumpynet is faster); "
          "pred MiB: extra peak memory while predicting")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"epochs": args.epochs, "n_samples": n_samples, "gemm_floor_seconds": floor,
              "gemm_gflops": gflops, "gflop_per_epoch": gflop_epoch, "results": results}
    (out / "bench_mlp.json").write_text(json.dumps(report, indent=2))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = [r["system"] for r in results] + ["GEMM floor"]
        values = [r["median_epoch_seconds"] for r in results] + [floor]
        fig, ax = plt.subplots(figsize=(6, 3.5))
        bars = ax.bar(names, values, color=["C0", "C1", "C2", "C7"][: len(names)])
        ax.bar_label(bars, fmt="%.2f s")
        ax.set_ylabel("seconds per epoch (median)")
        ax.set_title("Fashion-MNIST, 784-256-128-10, Adam, batch 256")
        fig.tight_layout()
        fig.savefig(out / "bench_mlp.png", dpi=120)
    except ImportError:
        print("matplotlib not installed: no plot.")
    print(f"wrote {out / 'bench_mlp.json'}")


if __name__ == "__main__":
    main()
