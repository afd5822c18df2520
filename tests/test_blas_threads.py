"""The default ``n_threads=None`` does not oversubscribe in parallel searches.

Fits in the worker threads of a search (joblib's threading backend, Dask worker
threads) share the cores: ``max(1, cpu_count // n_running)`` BLAS threads, never
more than the BLAS had. The thread counts are read with threadpoolctl from inside
``Linear.forward`` while both fits are known to be running (two barriers).
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import sknumpynet._base
from sknumpynet import LinearSVM, MLPClassifier, _runtime
from sknumpynet.nn import Linear, products


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


pytestmark = pytest.mark.skipif(not _blas_threads(), reason="threadpoolctl sees no BLAS")

X = np.random.default_rng(0).standard_normal((120, 8))
Y = (X[:, 0] > 0).astype(int)


def _mlp(**params):
    return MLPClassifier((6,), max_iter=2, batch_size=40, random_state=0, **params)


@pytest.fixture
def seen_while_both_fit(monkeypatch):
    """Per thread, the BLAS thread counts at its first forward once both fits are in."""
    both_in, both_recorded = threading.Barrier(2, timeout=20), threading.Barrier(2, timeout=20)
    seen, original = {}, Linear.forward

    def forward(self, x):
        name = threading.current_thread().name
        if name not in seen:
            seen[name] = None
            both_in.wait()
            seen[name] = _blas_threads()
            both_recorded.wait()
        return original(self, x)

    monkeypatch.setattr(Linear, "forward", forward)
    return seen


def _found():
    found = _blas_threads()
    if max(found) < 2:
        pytest.skip("BLAS runs one thread here anyway: nothing to share")
    return found


# LinearSVM's minibatch solver: the full-batch one does not call Linear.forward
@pytest.mark.parametrize(
    "make", [_mlp, lambda: LinearSVM(solver="adam", max_iter=2, random_state=0)]
)
def test_fits_in_joblib_threads_share_the_cores(monkeypatch, seen_while_both_fit, make):
    found = _found()
    monkeypatch.setitem(_runtime._blas, "cpus", 2)
    joblib.Parallel(n_jobs=2, backend="threading")(
        joblib.delayed(make().fit)(X, Y) for _ in range(2)
    )
    assert len(seen_while_both_fit) == 2
    # 2 cores // 2 running fits = 1 thread each, where the BLAS had more
    assert all(t == [1] * len(found) for t in seen_while_both_fit.values()), seen_while_both_fit
    assert _blas_threads() == found  # restored when the last fit is done


def test_explicit_n_threads_wins_over_the_share(monkeypatch, seen_while_both_fit):
    found = _found()
    monkeypatch.setitem(_runtime._blas, "cpus", 2 * max(found))  # a share: max(found)
    fits = [_mlp(n_threads=1), _mlp()]
    joblib.Parallel(n_jobs=2, backend="threading")(joblib.delayed(e.fit)(X, Y) for e in fits)
    assert all(t == [1] * len(found) for t in seen_while_both_fit.values()), seen_while_both_fit
    assert _blas_threads() == found


def test_a_fit_alone_in_a_thread_keeps_the_blas_as_found(monkeypatch):
    found = _found()
    monkeypatch.setitem(_runtime._blas, "cpus", 4 * max(found))
    monkeypatch.setattr(_runtime, "SMALL_WORK", 0)  # this fit's products count as large
    seen, original = [], Linear.forward

    def forward(self, x):
        seen.append(_blas_threads())
        return original(self, x)

    monkeypatch.setattr(Linear, "forward", forward)
    worker = threading.Thread(target=_mlp().fit, args=(X, Y))
    worker.start()
    worker.join(30)
    assert seen and all(t == found for t in seen)


@pytest.mark.parametrize(
    "requests, n_workers, found, n_cpus, expected",
    [
        ([], 0, [4, 2], 8, [4, 2]),  # nothing running: as found
        ([None], 1, [4, 2], 8, [4, 2]),  # alone: the share (8) never raises the limit
        ([None, None], 2, [4, 4], 8, [4, 4]),
        ([None], 2, [4, 4], 4, [2, 2]),  # the other worker between two fits still counts
        ([None, None, None], 3, [4, 8], 8, [2, 2]),  # 8 // 3
        ([None] * 5, 5, [1, 2], 2, [1, 1]),  # at least one thread
        ([None, 3, 1], 1, [2, 2], 8, [3, 3]),  # the first explicit n_threads wins
        ([None], 1, [1], 16, [1]),  # a loky worker started with one thread stays at one
        (["small"], 1, [4, 2], 8, [1, 1]),  # small products: one thread
        (["small", "small"], 2, [4, 4], 8, [1, 1]),
        (["small", None], 2, [4, 4], 8, [4, 4]),  # beside a large fit: the share
        (["small", None], 2, [4, 4], 4, [2, 2]),
        (["small", 3], 2, [4, 4], 8, [3, 3]),  # an explicit n_threads still wins
    ],
)
def test_agreed_blas_threads(requests, n_workers, found, n_cpus, expected):
    assert _runtime.agreed_blas_threads(requests, n_workers, found, n_cpus) == expected


def test_a_worker_between_fits_still_counts(monkeypatch):
    """Thread A fits, then B fits while A is alive but idle: B gets half the cores."""
    found = _found()
    monkeypatch.setitem(_runtime._blas, "cpus", 2)
    a_done, b_done, seen = threading.Event(), threading.Event(), []

    def a():
        _mlp().fit(X, Y)
        a_done.set()
        b_done.wait(30)  # idle, alive: like a search's pool thread between fits

    def b():
        with _runtime.blas_threads(None):
            seen.append(_blas_threads())
        b_done.set()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    threads[0].start()
    assert a_done.wait(30)
    threads[1].start()
    for t in threads:
        t.join(30)
    assert seen == [[1] * len(found)]
    assert _blas_threads() == found


def _seen_in_forward(monkeypatch, read):
    """What ``read()`` gives at every Linear.forward from now on."""
    seen, original = [], Linear.forward

    def forward(self, x):
        seen.append(read())
        return original(self, x)

    monkeypatch.setattr(Linear, "forward", forward)
    return seen


def _threads_seen_in_forward(monkeypatch):
    return _seen_in_forward(monkeypatch, _blas_threads)


def test_matmul_work_is_rows_times_the_weights():
    network = MLPClassifier((6, 5), max_iter=1, random_state=0).fit(X, Y).network_
    # 8 features -> 6 -> 5 -> 1 output (binary)
    assert _runtime.matmul_work(network, 40) == 40 * (8 * 6 + 6 * 5 + 5 * 1)


def _blocks_seen_in_forward(monkeypatch):
    return _seen_in_forward(monkeypatch, lambda: getattr(products._local, "n_blocks", 1))


@pytest.mark.parametrize("regime", ["small", "medium", "large"])
def test_the_default_chooses_threads_by_work(monkeypatch, regime):
    """Small steps run on one BLAS thread; medium ones keep the BLAS as found;
    large ones run on one BLAS thread with their products in row blocks over
    the threads the BLAS had (nn.products). The BLAS is as found again after
    the fit and the prediction, and nothing is split outside them."""
    found = _found()
    monkeypatch.setattr(_runtime, "SMALL_WORK", 10**12 if regime == "small" else 0)
    monkeypatch.setattr(_runtime, "SPLIT_WORK", 0 if regime == "large" else 10**12)
    monkeypatch.setitem(_runtime._blas, "cpus", 3)
    seen = _threads_seen_in_forward(monkeypatch)
    blocks = _blocks_seen_in_forward(monkeypatch)
    model = _mlp().fit(X, Y)
    model.predict(X)  # 120 rows: above SMALL_ROWS, so it sets a limit
    want_threads = found if regime == "medium" else [1] * len(found)
    assert seen and all(t == want_threads for t in seen), seen
    want_blocks = min(max(found), 3) if regime == "large" else 1
    assert blocks and all(b == want_blocks for b in blocks), blocks
    assert _blas_threads() == found
    assert getattr(products._local, "n_blocks", 1) == 1


def test_an_openmp_blas_is_not_split(monkeypatch):
    """OpenMP's thread limit holds only in the thread that set it: no blocks there."""
    monkeypatch.setattr(_runtime, "SMALL_WORK", 0)
    monkeypatch.setattr(_runtime, "SPLIT_WORK", 0)
    monkeypatch.setattr(_runtime, "_openmp_blas", lambda: True)
    blocks = _blocks_seen_in_forward(monkeypatch)
    _mlp().fit(X, Y)
    assert blocks and set(blocks) == {1}


def test_a_small_step_inside_a_large_fit_is_not_split():
    with products.split_products(3):
        with _runtime.blas_threads(None, work=1):
            assert products._local.n_blocks == 1
        with _runtime.blas_threads(2, work=10**12):
            assert products._local.n_blocks == 1
        assert products._local.n_blocks == 3


def test_linear_svms_keep_blas_threads(monkeypatch):
    """Their full-batch solvers multiply X themselves (Gram matrices): no blocks."""
    found = _found()
    monkeypatch.setattr(_runtime, "SMALL_WORK", 0)
    monkeypatch.setattr(_runtime, "SPLIT_WORK", 0)
    seen = []
    original = _runtime.blas_threads

    def spy(n_threads, work=None, split=True):
        seen.append(split)
        return original(n_threads, work, split)

    monkeypatch.setattr(sknumpynet._base, "blas_threads", spy)
    LinearSVM(random_state=0).fit(X, Y)
    assert seen and not any(seen)
    assert _blas_threads() == found


def test_a_limit_around_a_large_fit_keeps_it_on_one_thread(monkeypatch):
    """threadpool_limits(1) around a default fit: no blocks either (a benchmark's one core)."""
    monkeypatch.setattr(_runtime, "SMALL_WORK", 0)
    monkeypatch.setattr(_runtime, "SPLIT_WORK", 0)
    blocks = _blocks_seen_in_forward(monkeypatch)
    with threadpool_limits(1):
        _mlp().fit(X, Y)
    assert blocks and set(blocks) == {1}


def test_large_products_of_a_default_fit_equal_their_blocks_bit_for_bit(monkeypatch):
    """A default fit of large products is the same with one pool thread as with
    three: the blocks, not the free cores, decide the arithmetic."""
    monkeypatch.setattr(_runtime, "SMALL_WORK", 0)
    monkeypatch.setattr(_runtime, "SPLIT_WORK", 0)
    monkeypatch.setattr(products, "MIN_SPLIT_WORK", 0)
    monkeypatch.setattr(products, "MIN_BLOCK_ROWS", 8)
    monkeypatch.setitem(_runtime._blas, "cpus", 3)
    blocks = _blocks_seen_in_forward(monkeypatch)
    Xl = np.random.default_rng(1).standard_normal((240, 30))
    Yl = (Xl[:, :2].sum(1) > 0).astype(int)
    fits = []
    for workers in (1, 3):
        pool = ThreadPoolExecutor(workers)
        monkeypatch.setattr(products, "_executor", lambda _, pool=pool: pool)
        with threadpool_limits(3):  # the BLAS had 3 threads: 3 blocks
            model = MLPClassifier((40,), max_iter=3, batch_size=120, random_state=0)
            fits.append(model.fit(Xl, Yl))
        pool.shutdown()
    assert set(blocks) == {3}
    for a, b in zip(fits[0].coefs_ + fits[0].intercepts_, fits[1].coefs_ + fits[1].intercepts_):
        np.testing.assert_array_equal(a, b)


def test_explicit_n_threads_wins_over_small_work(monkeypatch):
    found = _found()
    seen = _threads_seen_in_forward(monkeypatch)
    _mlp(n_threads=2).fit(X, Y)
    assert seen and all(t == [2] * len(found) for t in seen), seen
    assert _blas_threads() == found


def test_a_small_fit_in_a_worker_thread_runs_on_one_thread(monkeypatch):
    """The fit's outer request (None, a share) gives way to its solve's ("small")."""
    found = _found()
    monkeypatch.setitem(_runtime._blas, "cpus", 4 * max(found))
    seen = _threads_seen_in_forward(monkeypatch)
    worker = threading.Thread(target=_mlp().fit, args=(X, Y))
    worker.start()
    worker.join(30)
    assert seen and all(t == [1] * len(found) for t in seen), seen
    assert _blas_threads() == found


def test_main_thread_fit_leaves_the_blas_alone(monkeypatch):
    calls = []
    monkeypatch.setattr(_runtime, "limit_blas", lambda n: calls.append(n))
    assert isinstance(_runtime.blas_threads(None), type(_runtime.contextlib.nullcontext()))
    _runtime.blas_threads(2)
    assert calls == [2]


def test_fits_in_dask_worker_threads_share_the_cores(monkeypatch, seen_while_both_fit):
    distributed = pytest.importorskip("distributed")
    found = _found()
    monkeypatch.setitem(_runtime._blas, "cpus", 2)
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as client:
        futures = [client.submit(_mlp().fit, X, Y, pure=False) for _ in range(2)]
        client.gather(futures)
    assert len(seen_while_both_fit) == 2
    assert all(t == [1] * len(found) for t in seen_while_both_fit.values()), seen_while_both_fit
    assert _blas_threads() == found


def test_the_last_out_restores_while_other_workers_live_on(monkeypatch):
    """threadpoolctl (>= 3.7) lets one live thread own OpenBLAS's size: B, which
    set the share, must not keep that right, or A, last out while B lives on
    (a pool thread waiting for its next task), could not restore the BLAS."""
    found = _found()
    monkeypatch.setitem(_runtime._blas, "cpus", 2)
    a_in, b_out, a_out, finish = (threading.Event() for _ in range(4))

    def a():
        with _runtime.blas_threads(None):
            a_in.set()
            b_out.wait(20)
        a_out.set()
        finish.wait(20)

    def b():
        a_in.wait(20)
        with _runtime.blas_threads(None):  # the second worker: sets the share
            pass
        b_out.set()
        finish.wait(20)  # alive, idle

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    assert a_out.wait(20)
    left = _blas_threads()
    finish.set()
    for t in threads:
        t.join(20)
    if left != found:  # put the process back for the tests that follow
        threadpool_limits(limits=max(found), user_api="blas")
    assert left == found


def test_a_small_fit_does_not_count_its_thread_as_a_worker_sharing_the_cores():
    """A small fit's one thread counts while it runs; after it, a threaded search's
    workers must still share all the cores (the main thread stayed a 'worker')."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), np.array([0, 1] * 20)
    with pytest.warns(Warning):  # two epochs do not converge
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    assert threading.main_thread() not in _runtime._blas["workers"]
