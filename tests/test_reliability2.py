"""Reliability, round two (issue 14): the items outside the estimator core.

Item 3: ``class_weight`` naming classes that are not classes of y. Item 4:
labels mixing types. Item 9: hidden layers too large for the memory. Item 11:
behaviours that no earlier test could catch when broken: early stopping's
best-weight restore and its tie rule, ``class_weight="balanced"`` on
LinearSVM, LinearSVM's recalibration in ``partial_fit``.
"""

import os
import subprocess
import sys
import textwrap
import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.utils.class_weight import compute_sample_weight

from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X_IRIS, Y_IRIS = load_iris(return_X_y=True)


def mlp(**params):
    return MLPClassifier(**{"hidden_layer_sizes": (5,), "max_iter": 3, "random_state": 0,
                            **params})


def svm(**params):
    return LinearSVM(**{"max_iter": 3, "random_state": 0, **params})


def svm_proba(**params):
    return svm(probability=True, **params)


CLASSIFIERS = [
    pytest.param(mlp, id="MLPClassifier"),
    pytest.param(svm, id="LinearSVM"),
    pytest.param(svm_proba, id="LinearSVM-proba"),
]


def weights(est):
    if isinstance(est, LinearSVM):
        return [est.coef_, est.intercept_]
    return [*est.coefs_, *est.intercepts_]


def assert_same_weights(a, b):
    for wa, wb in zip(weights(a), weights(b), strict=True):
        np.testing.assert_array_equal(wa, wb)


# -- item 3: class_weight against the classes ------------------------------------------


@pytest.mark.parametrize("factory", CLASSIFIERS)
@pytest.mark.parametrize(
    "class_weight", [{0: 1.0, 1: 2.0, 2: 1.0, 7: 3.0}, {0: 1.0, 7: 3.0}, {7: 3.0, "a": 1.0}]
)
def test_class_weight_naming_an_absent_class_raises_and_names_it(factory, class_weight):
    est = factory(class_weight=class_weight)
    params = dict(vars(est))
    extra = [k for k in class_weight if k not in (0, 1, 2)]
    with pytest.raises(ValueError) as info:
        est.fit(X_IRIS, Y_IRIS)
    message = str(info.value)
    assert message.startswith(f"class_weight names classes {extra!r} that are not classes")
    assert "[0, 1, 2]" in message
    assert vars(est) == params


@pytest.mark.parametrize("factory", CLASSIFIERS)
def test_class_weight_naming_a_class_missing_from_one_partial_fit_batch(factory):
    """Class 2 is declared in classes= but absent from this batch: its weight is valid."""
    keep = Y_IRIS < 2
    est = factory(class_weight={2: 3.0, 1: 2.0})
    est.partial_fit(X_IRIS[keep], Y_IRIS[keep], classes=[0, 1, 2])
    twin = factory().partial_fit(X_IRIS[keep], Y_IRIS[keep], classes=[0, 1, 2],
                                 sample_weight=np.where(Y_IRIS[keep] == 1, 2.0, 1.0))
    assert_same_weights(est, twin)
    with pytest.raises(ValueError, match=r"class_weight names classes \[5\]"):
        factory(class_weight={5: 1.0}).partial_fit(X_IRIS, Y_IRIS, classes=[0, 1, 2])


@pytest.mark.parametrize("factory", CLASSIFIERS)
@pytest.mark.parametrize("value", [-1.0, np.nan, np.inf, "heavy"])
def test_class_weight_values_must_be_finite_non_negative_numbers(factory, value):
    with pytest.raises(ValueError, match=r"class_weight\[1\] must be a finite non-negative"):
        factory(class_weight={1: value}).fit(X_IRIS, Y_IRIS)


@pytest.mark.parametrize("factory", CLASSIFIERS)
def test_class_weight_with_string_labels(factory):
    y = np.array(["setosa", "versicolor", "virginica"])[Y_IRIS]
    est = factory(class_weight={"virginica": 2.0}).fit(X_IRIS, y)
    twin = factory().fit(X_IRIS, y, sample_weight=np.where(Y_IRIS == 2, 2.0, 1.0))
    assert_same_weights(est, twin)
    with pytest.raises(ValueError, match=r"names classes \['Virginica'\]"):
        factory(class_weight={"Virginica": 2.0}).fit(X_IRIS, y)


# -- item 4: labels mixing types --------------------------------------------------------


def _mixed(values):
    y = np.empty(len(Y_IRIS), dtype=object)
    y[:] = [values[i] for i in Y_IRIS]
    return y


MIXED_LABELS = {
    "int_and_str": (_mixed([1, "a", "b"]), "int, str"),
    "str_and_None": (_mixed(["a", None, "b"]), "NoneType, str"),
    "float_and_str": (_mixed([1.5, "a", 2.5]), "float, str"),
    "bool_and_str": (_mixed([True, "a", "b"]), "bool, str"),
    "tuple_and_int": (_mixed([(1, 2), 3, 4]), "int, tuple"),
}


@pytest.mark.parametrize("factory", CLASSIFIERS)
@pytest.mark.parametrize("case", list(MIXED_LABELS))
def test_labels_mixing_types_are_a_clear_value_error(factory, case):
    y, types = MIXED_LABELS[case]
    est = factory()
    params = dict(vars(est))
    with pytest.raises(ValueError) as info:
        est.fit(X_IRIS, y)
    assert str(info.value).startswith(f"y mixes labels of types {types}: ")
    assert vars(est) == params


@pytest.mark.parametrize("factory", CLASSIFIERS)
def test_labels_of_another_type_than_the_fitted_classes(factory):
    est = factory().fit(X_IRIS, Y_IRIS)
    before = [w.copy() for w in weights(est)]
    y = np.array(["a", "b", "c"], dtype=object)[Y_IRIS]
    with pytest.raises(ValueError, match=r"y holds labels of type str but the classes are int"):
        est.partial_fit(X_IRIS, y)
    for a, b in zip(before, weights(est)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("factory", CLASSIFIERS)
def test_partial_fit_classes_mixing_types(factory):
    with pytest.raises(ValueError, match=r"classes mixes labels of types int, str: "):
        factory().partial_fit(X_IRIS, Y_IRIS, classes=np.array([0, 1, "2"], dtype=object))


@pytest.mark.parametrize("factory", CLASSIFIERS)
def test_string_labels_of_one_type_in_an_object_array_still_work(factory):
    y = np.array(["a", "b", "c"], dtype=object)[Y_IRIS]
    est = factory().fit(X_IRIS, y)
    assert list(est.classes_) == ["a", "b", "c"]
    assert set(est.predict(X_IRIS)) <= {"a", "b", "c"}


# -- item 9: memory needs checked before allocating ----------------------------------


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("sizes", [(10**9,), (10**5, 10**5), 10**10])
def test_huge_hidden_layers_are_a_value_error_before_allocating(estimator, sizes):
    est = estimator(hidden_layer_sizes=sizes, max_iter=1)
    y = Y_IRIS if estimator is MLPClassifier else X_IRIS[:, 0]
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            est.fit(X_IRIS, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    sizes = sizes if isinstance(sizes, tuple) else (sizes,)
    message = str(info.value)
    assert message.startswith(f"hidden_layer_sizes={sizes} with 4 features and ")
    assert "GiB" in message and "parameters" in message
    assert peak < 20 << 20, peak
    assert not hasattr(est, "network_")


def test_memory_check_follows_the_dtype_and_the_optimizer():
    from sknumpynet._mlp import check_network_memory

    available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    # (n + 1) * h + (h + 1) parameters, 5 arrays (adam) of 8 bytes: just above the memory
    h = available // (5 * 8 * 4) + 1
    with pytest.raises(ValueError, match=r"\(5 arrays of float64"):
        check_network_memory(2, [h], 1, np.float64, "adam", False)
    check_network_memory(2, [h], 1, np.float32, "adam", False)  # half: fits
    check_network_memory(2, [h], 1, np.float64, "sgd", False)  # 3 arrays: fits


@pytest.mark.skipif(sys.platform == "win32", reason="resource.setrlimit is POSIX")
def test_huge_hidden_layer_under_an_address_space_limit():
    """Under RLIMIT_AS of 3 GiB, a 6 GB network is refused with the limit, not MemoryError."""
    code = textwrap.dedent("""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        from sklearn.datasets import load_digits
        from sknumpynet import MLPClassifier
        X, y = load_digits(return_X_y=True)
        try:
            MLPClassifier(hidden_layer_sizes=(2_000_000,), max_iter=1).fit(X, y)
        except ValueError as exc:
            print("ValueError:", exc)
    """)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ValueError: hidden_layer_sizes=(2000000,) with 64 features")
    assert "more than the 3.0 GiB of memory available" in result.stdout


# -- item 11: early stopping restores the best epoch, the first of a tie -----------------


def _noisy_digits():
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16, y[:400]
    rng = np.random.default_rng(0)
    return X, np.where(rng.random(len(y)) < 0.3, rng.integers(0, 10, len(y)), y)


EARLY = dict(early_stopping=True, n_iter_no_change=4, max_iter=60, validation_fraction=0.2,
             random_state=0)


def _early_svm(**params):
    return LinearSVM(**{**EARLY, "learning_rate": "constant", "learning_rate_init": 0.05,
                        **params})


def _early_mlp(**params):
    # random_state=2: a seed whose validation scores tie at their best before the end
    return MLPClassifier(**{**EARLY, "hidden_layer_sizes": (16,), "learning_rate_init": 0.02,
                            "random_state": 2, **params})


@pytest.mark.parametrize("factory", [_early_svm, _early_mlp], ids=["LinearSVM", "MLPClassifier"])
def test_early_stopping_keeps_the_first_best_epoch(factory):
    """The kept weights are those of a twin stopped at the first best epoch.

    Seeded fits repeat bit for bit, so a twin with ``max_iter`` = that epoch
    holds exactly the weights the early-stopped fit had then. The data are
    chosen so that the best score is tied by a later epoch and is not the
    last epoch: keeping the last or the later tied epoch both fail.
    """
    X, y = _noisy_digits()
    est = factory().fit(X, y)
    scores = np.array(est.validation_scores_)
    best = int(np.argmax(scores))  # the first of the best
    assert (scores == scores.max()).sum() >= 2, "the data must give a tie"
    assert best < len(scores) - 1
    assert est.best_validation_score_ == scores[best]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        twin = factory(max_iter=best + 1).fit(X, y)
    np.testing.assert_array_equal(twin.validation_scores_, scores[: best + 1])
    assert_same_weights(est, twin)
    last = factory(restore_best_weights=False).fit(X, y)
    assert any(not np.array_equal(a, b) for a, b in zip(weights(est), weights(last)))


# -- item 11: class_weight="balanced" is applied ---------------------------------------


@pytest.mark.parametrize("factory", CLASSIFIERS[:2])
def test_balanced_class_weight_equals_the_balanced_sample_weights(factory):
    """Not with probability=True: the class weights are then those of the rows
    left after the calibration split, while the explicit weights are the whole set's."""
    X, y = load_digits(return_X_y=True)
    keep = (y < 3) & ((y != 0) | (np.arange(len(y)) % 6 == 0))  # class 0 is rare
    X, y = X[keep] / 16, y[keep]
    balanced = factory(class_weight="balanced", max_iter=5).fit(X, y)
    explicit = factory(max_iter=5).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    plain = factory(max_iter=5).fit(X, y)
    for a, b in zip(weights(balanced), weights(explicit), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    assert max(np.abs(a - b).max() for a, b in zip(weights(balanced), weights(plain))) > 1e-3


# -- item 11: LinearSVM.partial_fit recalibrates -----------------------------------------


def test_linear_svm_partial_fit_recalibrates_on_each_call():
    """Clean labels give confident probabilities; then shuffled labels must flatten them."""
    X, y = load_digits(return_X_y=True)
    X, y = X[y < 3] / 16, y[y < 3]
    est = LinearSVM(probability=True, random_state=0)
    est.partial_fit(X, y, classes=[0, 1, 2])
    first = est.calibration_temperature_
    confident = est.predict_proba(X).max(axis=1).mean()
    shuffled = np.random.default_rng(0).permutation(y)
    est.partial_fit(X, shuffled)
    assert est.calibration_temperature_ > 2 * first
    assert est.predict_proba(X).max(axis=1).mean() < confident - 0.2
