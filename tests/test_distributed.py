"""Scaling out: searches on a real Dask cluster, BLAS thread caps, small pickles.

The cluster tests start a ``distributed.LocalCluster`` of two single-threaded
worker processes on 127.0.0.1 and compare every search with the same search run
locally with ``n_jobs=1``: the reference is computed independently of Dask, so
a lost, duplicated or misordered fit shows up as a different ``cv_results_``.
Workers are killed, retired and restarted for real (SIGKILL, ``retire_workers``,
``Client.restart``), never mocked; each of those tests owns its cluster, and
every cluster is closed by a context manager, also when the test fails.

The thread-cap tests look at threadpoolctl's view from inside the fit and the
prediction (the engine's ``Linear.forward`` is wrapped to record it); the
pickle tests unpickle a fitted model in a fresh interpreter.

Without ``distributed`` installed the cluster tests are skipped; the others
still run.
"""

import concurrent.futures
import contextlib
import importlib
import io
import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import joblib
import numpy as np
import pytest
import threadpoolctl
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

import sknumpynet
from sknumpynet import MLPClassifier, MLPRegressor
from sknumpynet.nn import Linear

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.timeout(120),
]

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Read before any cluster starts: the nanny writes it into this process's environment.
OPENBLAS_NUM_THREADS_AT_IMPORT = os.environ.get("OPENBLAS_NUM_THREADS")
#: How long a test waits for a search running in a thread, or for a worker.
WAIT_S = 60


# -- estimators --------------------------------------------------------------------


def _linear_svm_class():
    cls = getattr(sknumpynet, "LinearSVM", None)
    if cls is None:
        pytest.skip("sknumpynet.LinearSVM is not available yet")
    return cls


def _search_setup(name):
    """An estimator and a parameter grid, small enough for a 2-core machine."""
    if name == "mlp":
        estimator = MLPClassifier(
            hidden_layer_sizes=(16,), max_iter=15, learning_rate_init=0.01,
            random_state=0, n_threads=1,
        )
        grid = {"hidden_layer_sizes": [(8,), (16,)], "alpha": [1e-4, 1.0]}
        return estimator, grid
    estimator = _linear_svm_class()(max_iter=10, random_state=0, n_threads=1)
    return estimator, {"C": [0.01, 1.0, 100.0]}


def _fitted(name, X, y):
    if name == "mlp_classifier":
        return MLPClassifier(hidden_layer_sizes=(32,), max_iter=3, random_state=0).fit(X, y)
    if name == "mlp_regressor":
        return MLPRegressor(hidden_layer_sizes=(32,), max_iter=3, random_state=0).fit(X, y)
    # the minibatch solver: these tests watch Linear.forward, which the
    # full-batch solver of small data does not call
    return _linear_svm_class()(solver="adam", max_iter=3, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def digits():
    """600 digits scaled to [0, 1]: a search over it takes about a second."""
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def _grid_search(estimator, grid, n_jobs, **kwargs):
    return GridSearchCV(estimator, grid, cv=3, n_jobs=n_jobs, **kwargs)


def _assert_same_search(local, remote):
    """Same candidates, same fold scores, same ranking, same winner."""
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    score_keys = sorted(k for k in local.cv_results_ if k.endswith("test_score"))
    assert score_keys, "no test scores in cv_results_"
    for key in score_keys:
        assert_array_equal(remote.cv_results_[key], local.cv_results_[key], err_msg=key)
    assert remote.best_index_ == local.best_index_
    assert remote.best_params_ == local.best_params_
    assert remote.best_score_ == local.best_score_


# -- the cluster -------------------------------------------------------------------


@contextlib.contextmanager
def _local_cluster():
    """Two single-threaded worker processes on the loopback, closed on any exit."""
    distributed = pytest.importorskip("distributed")
    # The nanny writes OMP/MKL/OPENBLAS_NUM_THREADS=1 into *this* process's
    # environment before spawning a worker; put it back so that processes
    # started by later tests do not inherit it.
    environ = dict(os.environ)
    try:
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=":0", silence_logs=50,
            ) as cluster,
            distributed.Client(cluster, timeout="30s") as client,
        ):
            client.wait_for_workers(2, timeout=WAIT_S)
            yield cluster, client
    finally:
        os.environ.clear()
        os.environ.update(environ)


@pytest.fixture(scope="module")
def cluster_client():
    """A cluster shared by the tests that leave it as they found it."""
    with _local_cluster() as (cluster, client):
        yield cluster, client


class _TaskRecorder:
    """A scheduler plugin that records joblib's fit batches: where they ran and
    which data they read.

    The LocalCluster's scheduler lives in this process, so the plugin is added to
    it directly and its records are read without any messaging.
    """

    name = "sknumpynet-test-recorder"

    def __init__(self, scheduler):
        self.scheduler = scheduler
        self.lock = threading.Lock()
        self.finished = []  # (key, worker address)
        self.dependencies = {}  # key -> {dependency key: nbytes}

    def transition(self, key, start, finish, *args, **kwargs):
        key = str(key)
        if "_fit_and_score_" not in key:
            return
        with self.lock:
            if finish == "processing":
                ts = self.scheduler.tasks[key]
                self.dependencies[key] = {str(d.key): d.nbytes for d in ts.dependencies}
            elif finish == "memory":
                self.finished.append((key, kwargs.get("worker")))

    def n_fits(self):
        """Number of ``_fit_and_score`` calls in the batches that finished."""
        return sum(int(re.search(r"_(\d+)_calls", key).group(1)) for key, _ in self.finished)


@contextlib.contextmanager
def _recording(cluster):
    recorder = _TaskRecorder(cluster.scheduler)
    cluster.scheduler.add_plugin(recorder, name=recorder.name)
    try:
        yield recorder
    finally:
        cluster.scheduler.remove_plugin(name=recorder.name)


# -- same results on the cluster as locally -----------------------------------------


@pytest.mark.parametrize("name", ["mlp", "linear_svm"])
def test_dask_search_equals_local_search(cluster_client, digits, name):
    cluster, client = cluster_client
    X, y = digits
    estimator, grid = _search_setup(name)
    local = _grid_search(estimator, grid, n_jobs=1, error_score="raise").fit(X, y)
    with _recording(cluster) as recorder:
        with joblib.parallel_backend("dask", scatter=[X, y]):
            remote = _grid_search(estimator, grid, n_jobs=-1, error_score="raise").fit(X, y)
    _assert_same_search(local, remote)
    # every fit of the search ran on the cluster's workers, none in this process
    n_candidates = len(local.cv_results_["params"])
    assert recorder.n_fits() == n_candidates * 3
    assert {worker for _, worker in recorder.finished} <= set(client.scheduler_info()["workers"])
    assert_array_equal(remote.predict(X), local.predict(X))


def test_scattered_data_is_sent_once_and_reused(cluster_client, digits):
    """``scatter=[X, y]`` puts X on every worker once; all fits read that copy,
    in every search run inside the ``with`` block."""
    cluster, client = cluster_client
    X, y = digits
    estimator, grid = _search_setup("mlp")
    with _recording(cluster) as recorder:
        with joblib.parallel_backend("dask", scatter=[X, y]) as (backend, _):
            x_key = str(backend.data_futures[id(X)].key)
            y_key = str(backend.data_futures[id(y)].key)
            assert len(cluster.scheduler.tasks[x_key].who_has) == 2  # broadcast
            for _ in range(2):
                _grid_search(estimator, grid, n_jobs=-1).fit(X, y)
    assert recorder.n_fits() == 2 * len(grid["alpha"]) * len(grid["hidden_layer_sizes"]) * 3
    assert recorder.dependencies
    large = set()
    for deps in recorder.dependencies.values():
        assert {x_key, y_key} <= set(deps)
        large |= {key for key, nbytes in deps.items() if nbytes >= X.nbytes // 2}
    assert large == {x_key}  # no other copy of X was shipped


def test_dask_workers_start_with_one_blas_thread(cluster_client):
    """What the scaling guide says: Dask's nanny starts workers with
    OMP/MKL/OPENBLAS_NUM_THREADS=1, unless the variable was already set here."""
    _, client = cluster_client
    expected = int(OPENBLAS_NUM_THREADS_AT_IMPORT or 1)
    client.run(importlib.import_module, "numpy")
    for worker, infos in client.run(threadpoolctl.threadpool_info).items():
        blas = [info["num_threads"] for info in infos if info["user_api"] == "blas"]
        assert blas and set(blas) == {expected}, (worker, blas)


# -- worker loss during a search -----------------------------------------------------


@pytest.fixture(scope="module")
def long_search():
    """A search long enough (12 fits of 0.1-1 s on a 2-core machine) to kill
    workers in the middle of it, and its local ``n_jobs=1`` reference."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    estimator = MLPClassifier(
        hidden_layer_sizes=(64,), max_iter=30, batch_size=32, tol=0.0,
        learning_rate_init=0.01, random_state=0, n_threads=1,
    )
    grid = {"hidden_layer_sizes": [(32,), (64,)], "alpha": [1e-4, 1e-2]}
    reference = _grid_search(estimator, grid, n_jobs=1, error_score="raise").fit(X, y)
    return X, y, estimator, grid, reference


def _search_in_thread(X, y, estimator, grid):
    """Start the search on the Dask backend in a thread; return (thread, outcome)."""
    outcome = {}

    def run():
        try:
            with joblib.parallel_backend("dask", scatter=[X, y]):
                # default error_score (nan): a lost worker must not become a nan score
                outcome["search"] = _grid_search(estimator, grid, n_jobs=-1).fit(X, y)
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _wait_until_busy(client, worker, thread):
    """Wait until the scheduler has assigned fits to ``worker``."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and thread.is_alive():
        if any("_fit_and_score_" in str(k) for k in client.processing([worker])[worker]):
            time.sleep(0.1)  # let the fit get going
            return
        time.sleep(0.02)
    pytest.fail("no fit was ever assigned to the worker under test")


def _finish(thread):
    thread.join(WAIT_S)
    assert not thread.is_alive(), f"the search did not finish within {WAIT_S} s"


def _assert_correct_or_loud(outcome, reference, allowed_errors):
    """Either the whole search is right, or it raised one of ``allowed_errors``."""
    if "error" in outcome:
        assert isinstance(outcome["error"], allowed_errors), repr(outcome["error"])
        return "raised"
    search = outcome["search"]
    assert not np.isnan(search.cv_results_["mean_test_score"]).any()
    _assert_same_search(reference, search)
    return "finished"


def test_search_with_a_killed_worker_is_right_or_raises(long_search):
    """SIGKILL one worker process in the middle of the search.

    Two outcomes are correct, and which one happens depends on what the dead
    worker held: the search finishes on the surviving worker with exactly the
    reference ``cv_results_`` (its fits are rerun elsewhere), or it raises
    ``distributed.KilledWorker`` or a ``CancelledError`` (joblib scatters each
    split's index arrays to one worker; when that worker dies they cannot be
    recomputed, and the fits that need them are cancelled). Never nan or
    wrong scores.
    """
    distributed = pytest.importorskip("distributed")
    X, y, estimator, grid, reference = long_search
    with _local_cluster() as (cluster, client):
        pids = client.run(os.getpid)
        victim = sorted(pids)[0]
        thread, outcome = _search_in_thread(X, y, estimator, grid)
        _wait_until_busy(client, victim, thread)
        os.kill(pids[victim], signal.SIGKILL)
        _finish(thread)
        _assert_correct_or_loud(
            outcome, reference, (distributed.KilledWorker, concurrent.futures.CancelledError)
        )


def test_search_with_a_killed_worker_and_no_retries_raises_clearly(long_search):
    """With ``allowed-failures=0`` a fit whose worker dies is not retried: the
    search must raise, never return the scores of the fits that survived."""
    distributed = pytest.importorskip("distributed")
    X, y, estimator, grid, reference = long_search
    with _local_cluster() as (cluster, client):
        cluster.scheduler.allowed_failures = 0
        pids = client.run(os.getpid)
        victim = sorted(pids)[0]
        thread, outcome = _search_in_thread(X, y, estimator, grid)
        _wait_until_busy(client, victim, thread)
        os.kill(pids[victim], signal.SIGKILL)
        _finish(thread)
        assert "error" in outcome, "the search hid the death of a worker"
        error = outcome["error"]
        assert isinstance(error, (distributed.KilledWorker, concurrent.futures.CancelledError))
        assert re.search(r"worker|forgotten|cancelled", str(error), re.IGNORECASE), str(error)


def test_search_finishes_when_a_worker_is_retired_mid_run(long_search):
    """A graceful loss (``retire_workers``: its data moves first) is survived:
    the search finishes on the other worker with the reference results."""
    X, y, estimator, grid, reference = long_search
    with _local_cluster() as (cluster, client):
        victim = sorted(client.scheduler_info()["workers"])[0]
        with _recording(cluster) as recorder:
            thread, outcome = _search_in_thread(X, y, estimator, grid)
            _wait_until_busy(client, victim, thread)
            client.retire_workers([victim], close_workers=True)
            _finish(thread)
        assert victim not in client.scheduler_info()["workers"]
        assert _assert_correct_or_loud(outcome, reference, ()) == "finished"
        assert recorder.n_fits() == len(reference.cv_results_["params"]) * 3


def test_search_during_a_cluster_restart_raises_clearly(long_search):
    """``Client.restart()`` forgets every task: the search must fail, saying so."""
    X, y, estimator, grid, reference = long_search
    with _local_cluster() as (cluster, client):
        victim = sorted(client.scheduler_info()["workers"])[0]
        thread, outcome = _search_in_thread(X, y, estimator, grid)
        _wait_until_busy(client, victim, thread)
        client.restart(wait_for_workers=False)
        _finish(thread)
        assert "error" in outcome, "the search survived a restart that forgot its tasks"
        assert isinstance(outcome["error"], concurrent.futures.CancelledError)
        assert "restart" in str(outcome["error"])


# -- BLAS threads inside fit and predict ---------------------------------------------


def _blas_threads():
    return [
        info["num_threads"] for info in threadpoolctl.threadpool_info()
        if info["user_api"] == "blas"
    ]


@pytest.fixture
def blas_during_forward(monkeypatch):
    """Record threadpoolctl's BLAS thread counts in every ``Linear.forward``."""
    if not _blas_threads():
        pytest.skip("threadpoolctl sees no BLAS library")
    seen = []
    original = Linear.forward

    def forward(self, x):
        seen.append(_blas_threads())
        return original(self, x)

    monkeypatch.setattr(Linear, "forward", forward)
    return seen


def _thread_test_data(name):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 64))
    y = X[:, 0] if name == "mlp_regressor" else (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    return X, y


ESTIMATORS = ["mlp_classifier", "mlp_regressor", "linear_svm"]


@pytest.mark.parametrize("name", ESTIMATORS)
def test_n_threads_1_limits_blas_during_fit(blas_during_forward, name):
    X, y = _thread_test_data(name)
    before = _blas_threads()
    estimator = _fitted(name, X, y).set_params(n_threads=1)
    blas_during_forward.clear()
    estimator.fit(X, y)
    assert blas_during_forward, "fit never ran Linear.forward"
    assert {tuple(t) for t in blas_during_forward} == {(1,) * len(before)}
    assert _blas_threads() == before  # the cap is lifted after fit


@pytest.mark.parametrize("name", ESTIMATORS)
def test_without_n_threads_fit_uses_the_default_blas_threads(blas_during_forward, name,
                                                             monkeypatch):
    """A fit whose products count as large keeps the BLAS's threads (small ones get
    one: tests/test_blas_threads.py)."""
    from sknumpynet import _runtime

    monkeypatch.setattr(_runtime, "SMALL_WORK", 0)  # this fit's products count as large
    before = _blas_threads()
    if max(before) <= 1:
        pytest.skip("BLAS runs one thread here anyway; nothing to compare with")
    X, y = _thread_test_data(name)
    _fitted(name, X, y)
    assert blas_during_forward, "fit never ran Linear.forward"
    assert {tuple(t) for t in blas_during_forward} == {tuple(before)}


@pytest.mark.parametrize("name", ESTIMATORS)
def test_n_threads_1_limits_blas_during_predict(blas_during_forward, name):
    X, y = _thread_test_data(name)
    before = _blas_threads()
    estimator = _fitted(name, X, y).set_params(n_threads=1)
    blas_during_forward.clear()
    estimator.predict(X)
    assert blas_during_forward, "predict never ran Linear.forward"
    assert {tuple(t) for t in blas_during_forward} == {(1,) * len(before)}
    assert _blas_threads() == before


# -- fitted estimators pickle small and clean ----------------------------------------

#: Modules a fitted estimator's pickle may name: numpy arrays and Generators,
#: the package's own classes, builtins. No locks, files, thread pools, progress bars.
ALLOWED_PICKLE_MODULES = ("numpy", "sknumpynet", "builtins", "copyreg", "_codecs")


class _ListingUnpickler(pickle.Unpickler):
    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.globals = set()

    def find_class(self, module, name):
        self.globals.add((module, name))
        return super().find_class(module, name)


def _mnist_shaped_mlp(n_samples, dtype, **params):
    """A 784-256-128-10 MLPClassifier fitted for one epoch on random data."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_samples, 784)).astype(dtype)
    y = np.arange(n_samples) % 10
    params = {"batch_size": n_samples, "max_iter": 1, "random_state": 0, **params}
    return MLPClassifier(hidden_layer_sizes=(256, 128), **params).fit(X, y), X


def _parameter_bytes(estimator):
    return sum(p.value.nbytes for p in estimator.network_.parameters())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fitted_pickle_holds_no_batch_state(dtype):
    """Pickled size does not grow with the batch: no cached activations, masks,
    gathered batches or other per-batch buffers travel with the model."""
    small, _ = _mnist_shaped_mlp(100, dtype)
    large, _ = _mnist_shaped_mlp(4000, dtype, dropout=0.2, batch_norm=True)
    plain, _ = _mnist_shaped_mlp(4000, dtype)
    size_small = len(pickle.dumps(small, protocol=5))
    size_plain = len(pickle.dumps(plain, protocol=5))
    assert abs(size_plain - size_small) < 1024
    # one 4000 x 256 activation would add 4 MB (float32); dropout masks as much again
    size_large = len(pickle.dumps(large, protocol=5))
    extra_bn = 8 * 2 * (256 + 128) * np.dtype(dtype).itemsize  # gamma, beta, running stats
    assert size_large - size_plain < extra_bn + 4096


def test_fitted_pickle_names_only_numpy_and_package_classes():
    estimator, _ = _mnist_shaped_mlp(200, np.float32, dropout=0.1)
    unpickler = _ListingUnpickler(pickle.dumps(estimator, protocol=5))
    unpickler.load()
    foreign = {
        (module, name) for module, name in unpickler.globals
        if module.split(".")[0] not in ALLOWED_PICKLE_MODULES
    }
    assert not foreign, foreign


#: Copies of the parameters a fitted model needs: the values, plus the optimizer
#: state that lets ``partial_fit`` resume exactly after a round trip (none for
#: lbfgs; sgd's velocity, RMSProp's squared-gradient average, or Adam's two moments).
STATE_COPIES = {"lbfgs": 1, "sgd": 2, "rmsprop": 2, "adam": 3, "nadam": 3}


@pytest.mark.parametrize(
    "solver, dtype",
    [(s, np.float32) for s in STATE_COPIES] + [("adam", np.float64)],
)
def test_fitted_pickle_is_the_parameters_and_optimizer_state_only(solver, dtype):
    """No gradients, scratch buffers or activations: what resumes training, no more."""
    estimator, _ = _mnist_shaped_mlp(2000, dtype, solver=solver)
    n_bytes = _parameter_bytes(estimator)
    layers = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    assert n_bytes == layers * np.dtype(dtype).itemsize
    size = len(pickle.dumps(estimator, protocol=5))
    expected = STATE_COPIES[solver] * n_bytes
    assert size <= 1.05 * expected + 16 * 1024, (size, expected, size / n_bytes)


def test_fitted_model_unpickles_in_a_fresh_process(tmp_path):
    estimator, X = _mnist_shaped_mlp(500, np.float32)
    X = X[:200]
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(estimator, protocol=5))
    np.save(tmp_path / "X.npy", X)
    script = textwrap.dedent(
        """
        import pickle, sys
        from pathlib import Path
        import numpy as np
        folder = Path(sys.argv[1])
        from threadpoolctl import threadpool_limits
        model = pickle.loads((folder / "model.pkl").read_bytes())
        X = np.load(folder / "X.npy")
        with threadpool_limits(1):
            np.save(folder / "predict.npy", model.predict(X))
            np.save(folder / "proba.npy", model.predict_proba(X))
        """
    )
    # BLAS sums in a different order with another thread count: pin it in both
    # processes so that the comparison can be exact.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get(
        "PYTHONPATH", "")])}
    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], check=True, env=env, timeout=WAIT_S,
        cwd=tmp_path,
    )
    with threadpoolctl.threadpool_limits(1):
        assert_array_equal(np.load(tmp_path / "predict.npy"), estimator.predict(X))
        assert_array_equal(np.load(tmp_path / "proba.npy"), estimator.predict_proba(X))
