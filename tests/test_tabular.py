"""TabularMLPClassifier and TabularMLPRegressor: tables as they come, and the recipe."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn_versions import needs_callbacks

from sknumpynet import TabularMLPClassifier, TabularMLPRegressor, load, nn, save

pd = pytest.importorskip("pandas")

FAST = {"max_iter": 20, "hidden_layer_sizes": (32, 32), "random_state": 0}


def _table(n=240, seed=0):
    """Numbers with gaps, a few colours, a many-valued city, a boolean; labels from them."""
    rng = np.random.default_rng(seed)
    size = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n).astype(object)
    city = rng.choice([f"city{i}" for i in range(15)], size=n)
    flag = rng.random(n) < 0.5
    score = size + (colour == "red") * 1.5 - flag + (np.char.endswith(city.astype(str), "3"))
    size[rng.random(n) < 0.1] = np.nan
    colour[rng.random(n) < 0.1] = None
    frame = pd.DataFrame({"size": size, "colour": colour, "city": city, "flag": flag})
    return frame, score


def test_classifier_fits_a_raw_dataframe_and_handles_unseen_categories():
    X, score = _table()
    y = np.where(score > np.median(score), "high", "low")
    clf = TabularMLPClassifier(**FAST).fit(X, y)
    assert clf.score(X, y) > 0.8
    assert list(clf.feature_names_in_) == ["size", "colour", "city", "flag"]
    assert clf.column_plan_.embedded == [1]  # city: 15 categories > max_onehot
    new = pd.DataFrame({"size": [np.nan, 0.3], "colour": ["purple", None],
                        "city": ["atlantis", "city3"], "flag": [True, False]})
    proba = clf.predict_proba(new)
    assert proba.shape == (2, 2) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert set(clf.predict(new)) <= {"high", "low"}


def test_regressor_standardises_the_target_and_puts_predictions_back():
    X, score = _table()
    y = 250_000 + 40_000 * score  # house prices: far from unit scale
    reg = TabularMLPRegressor(**FAST).fit(X, y)
    assert reg.score(X, y) > 0.8
    np.testing.assert_allclose(reg.y_mean_, [y.mean()])
    np.testing.assert_allclose(reg.y_scale_, [y.std()])
    assert abs(reg.predict(X).mean() - y.mean()) < 0.1 * y.std()


def test_the_published_recipe_is_the_default_network():
    X, score = _table(n=80)
    clf = TabularMLPClassifier(max_iter=1, random_state=0).fit(X, score > 0)
    modules = list(clf.network_)
    assert isinstance(modules[0], nn.CategoricalEmbedding)
    assert isinstance(modules[1], nn.Scale) and modules[1].scale.lr_scale == 6.0
    hidden = modules[2:-1]
    assert [b[0].out_features for b in hidden] == [256, 256, 256]
    assert all(isinstance(b[1], nn.SELU) for b in hidden)
    assert all(b[0].bias.lr_scale == 0.1 for b in hidden)
    assert modules[-1].parametrization == "ntk"
    assert clf._optimizer.beta_2 == 0.95
    reg = TabularMLPRegressor(max_iter=1, random_state=0).fit(X, score)
    assert isinstance(list(reg.network_)[2][1], nn.Mish)


def test_periodic_embeddings_of_the_numeric_columns_are_an_option():
    X, score = _table(n=80)
    clf = TabularMLPClassifier(max_iter=1, random_state=0, numeric_embedding="pbld")
    modules = list(clf.fit(X, score > 0).network_)
    assert isinstance(modules[0], nn.CategoricalEmbedding)
    periodic = modules[1]  # RealMLP-TD's "PBLD", of the one numeric column, after the codes
    assert isinstance(periodic, nn.PeriodicEmbedding) and periodic.columns == [0]
    assert (periodic.n_frequencies, periodic.embedding_dim, periodic.sigma) == (16, 3, 0.1)
    assert all(p.lr_scale == 0.1 for p in periodic.parameters())
    assert isinstance(modules[2], nn.Scale)
    assert modules[2].num_features == modules[0].n_features_out + 3
    encoded = clf.set_params(embedding_layer="input").transform(X)
    assert encoded.shape == (len(X), clf.column_plan_.n_dense + 8 + 3)


def test_output_layer_starts_at_zero():
    X, score = _table(n=80)
    reg = TabularMLPRegressor(max_iter=1, random_state=0, learning_rate_init=1e-12)
    reg.fit(X, score)
    np.testing.assert_allclose(reg.predict(X), score.mean(), atol=1e-6 * score.std())


def test_random_state_makes_fits_repeatable_bit_for_bit():
    X, score = _table()
    a = TabularMLPRegressor(**FAST).fit(X, score).predict(X)
    b = TabularMLPRegressor(**FAST).fit(X, score).predict(X)
    np.testing.assert_array_equal(a, b)


def test_best_epoch_is_kept():
    X, score = _table()
    reg = TabularMLPRegressor(**FAST).fit(X, score)
    scores = reg.validation_scores_
    assert len(scores) == FAST["max_iter"]
    assert reg.best_validation_score_ == max(scores)


def test_transform_gives_hidden_layers_and_category_embeddings():
    X, score = _table()
    reg = TabularMLPRegressor(**FAST).fit(X, score)
    assert reg.transform(X).shape == (len(X), 32)
    assert reg.set_params(embedding_layer="all").transform(X).shape == (len(X), 64)
    encoded = reg.set_params(embedding_layer="input").transform(X)
    plan = reg.column_plan_
    assert encoded.shape == (len(X), plan.n_dense + 8)  # city's code -> 8 learned numbers
    assert reg.get_feature_names_out().shape == (encoded.shape[1],)


def test_save_and_load_keep_the_preprocessing(tmp_path):
    X, score = _table()
    clf = TabularMLPClassifier(**FAST).fit(X, score > 0)
    path = tmp_path / "model.skn"
    save(clf, path)
    loaded = load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.column_plan_.categories[0].tolist() == clf.column_plan_.categories[0].tolist()


def test_categorical_features_by_name_index_and_mask():
    X, score = _table(n=60)
    X = X.assign(code=np.arange(60) % 3)  # numbers that are categories
    for spec in (["code"], [4], [False, False, False, False, True]):
        clf = TabularMLPClassifier(categorical_features=spec, **FAST).fit(X, score > 0)
        assert 4 in clf.column_plan_.categorical
    with pytest.raises(ValueError, match="not a column"):
        TabularMLPClassifier(categorical_features=["nope"], **FAST).fit(X, score > 0)
    with pytest.raises(ValueError, match="hold text"):
        TabularMLPClassifier(categorical_features=None, **FAST).fit(X, score > 0)


def test_a_class_too_rare_to_stratify_still_fits():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.array([0] * 20 + [1] * 19 + [2])
    clf = TabularMLPClassifier(**FAST).fit(X, y)
    assert list(clf.classes_) == [0, 1, 2]


def test_a_failed_fit_leaves_the_model_as_it_was():
    X, score = _table(n=60)
    reg = TabularMLPRegressor(**FAST).fit(X, score)
    before = reg.predict(X)
    with pytest.raises(ValueError):
        reg.fit(X.iloc[:, :2], np.full(60, np.inf))
    np.testing.assert_array_equal(reg.predict(X), before)


# Known differences, kept: the held-out split draws rows (a row of weight 2 and
# the same row twice can fall on different sides of it), the robust scaling's
# medians and quartiles count rows, not weights, and the network trains in
# float32, so predictions could not agree to the check's 1e-7 anyway.
_SW = {
    "check_sample_weight_equivalence_on_dense_data":
        "split and scaling count rows, not weights; float32 training",
}
CHECKED = [
    TabularMLPClassifier(max_iter=30, hidden_layer_sizes=(16,), random_state=0),
    TabularMLPRegressor(max_iter=30, hidden_layer_sizes=(16,), random_state=0),
]


@parametrize_with_checks(CHECKED, expected_failed_checks=lambda est: _SW)
def test_sklearn_compatible(estimator, check):
    check(clone(estimator))


def test_validation_table_is_preprocessed_with_the_training_plan():
    X, score = _table()
    X_val, score_val = _table(n=80, seed=1)
    y, y_val = score > 0, score_val > 0
    clf = TabularMLPClassifier(**FAST).fit(X, y, X_val=X_val, y_val=y_val)
    best = clf.best_validation_score_
    assert best == max(clf.validation_scores_)
    assert best == pytest.approx(clf.score(X_val, y_val))  # the kept epoch is the best one
    assert len(clf.validation_loss_curve_) == FAST["max_iter"]


def test_scoring_chooses_the_epoch_watched():
    X, score = _table()
    reg = TabularMLPRegressor(scoring="loss", **FAST).fit(X, score)
    np.testing.assert_allclose(reg.validation_scores_, -np.array(reg.validation_loss_curve_))
    reg = TabularMLPRegressor(scoring="neg_mean_absolute_error", **FAST).fit(X, score)
    assert max(reg.validation_scores_) < 0  # a scorer on the original scale of y


def test_skops_round_trip_with_the_trusted_types(tmp_path):
    sio = pytest.importorskip("skops.io")
    from sknumpynet.io import trusted_types

    X, score = _table()
    clf = TabularMLPClassifier(**FAST).fit(X, score > 0)
    path = tmp_path / "model.skops"
    sio.dump(clf, path)
    assert set(sio.get_untrusted_types(file=path)) <= set(trusted_types())
    loaded = sio.load(path, trusted=trusted_types())
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_a_polars_frame_fits_as_the_pandas_one():
    pl = pytest.importorskip("polars")
    pytest.importorskip("pyarrow")
    X, score = _table(n=80)
    y = score > 0
    a = TabularMLPClassifier(**FAST).fit(X, y).predict_proba(X)
    b = TabularMLPClassifier(**FAST).fit(pl.from_pandas(X), y).predict_proba(pl.from_pandas(X))
    np.testing.assert_array_equal(a, b)


class _StopAfter:
    """A scikit-learn callback keeping each epoch's fitted copy; stops after ``n`` epochs."""

    def __init__(self, n):
        self.n, self.fitted = n, []

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name == "epoch":
            self.fitted.append(fitted_estimator)
            return len(self.fitted) >= self.n
        return False

    def teardown(self, estimator, context):
        pass


@needs_callbacks
def test_callbacks_see_every_epoch_and_a_model_that_predicts_raw_tables():
    X, score = _table()
    recorder = _StopAfter(5)
    clf = TabularMLPClassifier(**FAST).set_callbacks(recorder).fit(X, score > 0)
    assert len(recorder.fitted) == 5 and clf.n_iter_ == 5
    proba = [f.predict_proba(X) for f in recorder.fitted]  # each epoch's model, raw table
    assert all(p.shape == (len(X), 2) for p in proba)
    assert not np.array_equal(proba[0], proba[-1])  # as of its epoch, not the final model


def test_a_fit_that_ends_at_a_zero_rate_saves_and_loads(tmp_path):
    # coslog4's first rate is 0: one step of one epoch leaves Adam at lr 0
    X, score = _table(n=60)
    reg = TabularMLPRegressor(max_iter=1, hidden_layer_sizes=(8,), random_state=0).fit(X, score)
    assert reg._optimizer.lr == 0.0
    save(reg, tmp_path / "m.skn")
    np.testing.assert_array_equal(load(tmp_path / "m.skn").predict(X), reg.predict(X))


def test_blas_threads_by_work_unless_asked(monkeypatch):
    from sknumpynet import _base, _runtime

    asked = []
    real = _base.blas_threads
    monkeypatch.setattr(
        _base, "blas_threads",
        lambda n, work=None, split=True: asked.append((n, work)) or real(n, work, split),
    )
    X, score = _table(n=60)
    TabularMLPRegressor(**FAST).fit(X, score)
    TabularMLPRegressor(n_threads=2, **FAST).fit(X, score)
    solves = [(n, work) for n, work in asked if work is not None]
    # the recipe's products are small: the default is one thread (test_blas_threads)
    assert solves[0][0] is None and 0 < solves[0][1] < _runtime.SMALL_WORK
    assert solves[-1][0] == 2


def test_a_dataframe_with_dates_fits_and_predicts():
    X, score = _table(n=60)
    X = X.assign(day=pd.date_range("2024-01-01", periods=60))
    reg = TabularMLPRegressor(**FAST).fit(X, score)
    assert reg.column_plan_.categorical == [1, 2, 3]  # colour, city, flag: not the dates
    assert np.isfinite(reg.predict(X.head(3))).all()


def test_infinity_is_an_error_whatever_the_other_columns():
    X, score = _table(n=60)
    X.loc[3, "size"] = np.inf  # beside text columns, validate_data lets it through
    with pytest.raises(ValueError, match="infinity"):
        TabularMLPRegressor(**FAST).fit(X, score)
    with pytest.raises(ValueError, match="infinity"):
        TabularMLPRegressor(**FAST).fit(X[["size"]], score)
