"""TrainingLog: the history is the one record of the epochs; the curves are read off it."""

import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

import sknumpynet
from sknumpynet._training import TrainingLog

DATA = Path(__file__).parent / "data"


def _log(records):
    log = TrainingLog()
    for loss, score in records:
        log.record(loss, score, 0.1, 0.0, 10, None if score is None else 1.0 - score)
    return log


def test_curves_are_read_off_the_history():
    log = _log([(3.0, None), (2.0, 0.5), (2.5, 0.7), (1.0, None)])
    assert log.loss_curve == [3.0, 2.0, 2.5, 1.0]
    assert log.validation_scores == [0.5, 0.7]
    assert log.validation_losses == [0.5, pytest.approx(0.3)]
    assert (log.best_loss, log.best_validation_score) == (1.0, 0.7)
    assert [r["epoch"] for r in log.history] == [1, 2, 3, 4]
    assert (log.n_iter, log.t) == (4, 40)


def test_drop_last_forgets_the_epoch_everywhere():
    log = _log([(3.0, 0.2), (1.0, 0.9)])
    log.drop_last(10)
    assert log.loss_curve == [3.0] and log.validation_scores == [0.2]
    assert (log.best_loss, log.best_validation_score, log.n_iter, log.t) == (3.0, 0.2, 1, 10)


def test_a_final_score_goes_to_a_copy_of_the_last_record():
    """A full-batch fit scores its final model; the resumed-from log is untouched."""
    before = _log([(2.0, None), (1.0, None)])
    after = before.resumed()
    after.record_validation(0.8, 0.3)
    assert after.validation_scores == [0.8] and after.history[-1]["validation_loss"] == 0.3
    assert before.validation_scores == [] and before.history[-1]["validation_score"] is None
    assert after.history[0] is before.history[0]  # records are shared, not copied
    assert after.best_validation_score == 0.8 and math.isinf(before.best_validation_score)


def test_fields_of_older_files_are_read_through_the_history():
    log = TrainingLog.from_fields(
        loss_curve=[9.0], validation_scores=[9.0], validation_losses=[9.0],
        history=[{"epoch": 1, "loss": 2.0, "validation_score": None, "learning_rate": 0.1,
                  "seconds": 0.0}], t=5, n_iter=1,
    )
    assert log.loss_curve == [2.0] and log.validation_scores == []
    assert set(vars(log)) == {"history", "best_loss", "best_validation_score", "t", "n_iter"}


def test_files_whose_log_holds_separate_lists_load_through_the_history(tmp_path):
    """Files saved before the history was the one record name the lists in the log."""
    import model_files

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.array([0, 1] * 20)
    est = sknumpynet.MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, early_stopping=True,
                                   validation_fraction=0.25, random_state=0)
    with pytest.warns(Warning):
        est.fit(X, y)
    path = tmp_path / "m.skn"
    sknumpynet.save(est, path)

    def add_lists(meta):  # as the file of the earlier layout had them
        log = meta["fitted"]["_log"]
        assert log["kind"] == "record" and "loss_curve" not in log["fields"]
        log["fields"]["loss_curve"] = {"kind": "list", "items": []}
        log["fields"]["validation_scores"] = {"kind": "list", "items": []}

    model_files.edit_meta(path, add_lists)
    loaded = sknumpynet.load(path)
    assert loaded._log.loss_curve == est.loss_curve_
    assert loaded._log.validation_scores == est.validation_scores_
    loaded.set_params(warm_start=True, max_iter=2)
    with pytest.warns(Warning):
        loaded.fit(X, y)
    assert loaded.loss_curve_[:3] == est.loss_curve_ and len(loaded.loss_curve_) == 5


def test_file_format_1_models_get_their_log_from_the_curve_attributes(tmp_path):
    """The 0.1.0 file keeps the curves as attributes only; the log is built from them."""
    path = DATA / "mlp-file-format-1.skn"
    with zipfile.ZipFile(path) as z:
        assert "TrainingLog" not in z.read("sknumpynet.json").decode()
    est = sknumpynet.load(path)
    np.testing.assert_array_equal(est._log.loss_curve, est.loss_curve_)
    sknumpynet.save(est, tmp_path / "again.skn")
    with zipfile.ZipFile(tmp_path / "again.skn") as z:
        assert '"loss_curve"' not in z.read("sknumpynet.json").decode()
    np.testing.assert_array_equal(sknumpynet.load(tmp_path / "again.skn").loss_curve_,
                                  est.loss_curve_)


def test_a_fit_with_no_iteration_scores_its_final_model_in_a_record_of_its_own():
    """It must not overwrite the earlier fit's last record (a warm start already at
    its optimum), nor drop the score (a fresh fit with nothing to do)."""
    before = _log([(2.0, None), (1.0, 0.9)])
    after = before.resumed()
    after.record_validation(0.1, 3.0)
    assert after.validation_scores == [0.9, 0.1]
    assert after.history[1] is before.history[1] and len(after.history) == 3
    assert after.history[-1]["loss"] == 1.0 and after.n_iter == 0
    fresh = TrainingLog()
    fresh.record_validation(0.5, 1.0)
    assert fresh.validation_scores == [0.5] and fresh.best_validation_score == 0.5


def test_a_record_without_iteration_keeps_the_loss_of_the_unchanged_model():
    log = _log([(2.0, None), (1.0, 0.9)]).resumed()
    log.record_validation(0.5, 3.0)
    assert log.loss_curve == [2.0, 1.0, 1.0]
    fresh = TrainingLog()
    fresh.record_validation(0.5, 1.0)
    fresh.record(4.0, None, 0.1, 0.0, 10)
    fresh.drop_last(10)
    assert math.isinf(fresh.best_loss)  # a NaN first loss does not stick
