"""Tests for the command line, ``python -m sknumpynet``, and the demo it runs."""

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest

from sknumpynet.__main__ import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIGURES = ["learning_curves.png", "predictions.png", "confusion_matrix.png", "embeddings.png"]


def run_cli(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "sknumpynet", *args],
        capture_output=True, text=True, timeout=timeout,
    )


def png_size(path):
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_help_lists_the_demo_command():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "usage: sknumpynet" in result.stdout
    assert "demo" in result.stdout
    assert result.stderr == ""


def test_demo_help_explains_every_option():
    result = run_cli("demo", "--help")
    assert result.returncode == 0
    for option in ("--dataset", "--epochs", "--out", "--data-home", "--max-samples", "--seed"):
        assert option in result.stdout
    for choice in ("digits", "fashion-mnist", "mnist"):
        assert choice in result.stdout
    assert "learning_curves.png" in result.stdout


HEAVY = ("sklearn", "scipy", "pandas", "matplotlib")


def imported_modules(*args):
    """Top-level names of the modules ``python -X importtime -m sknumpynet ARGS`` imports."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sknumpynet", *args],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: sknumpynet" in result.stdout
    # lines read "import time: self [us] | cumulative | <indent>package.module"
    rows = [line.split("|")[-1].strip() for line in result.stderr.splitlines()
            if line.startswith("import time:") and "|" in line]
    assert len(rows) > 20, result.stderr[:500]  # the log was parsed
    return {row.split(".")[0] for row in rows}


@pytest.mark.parametrize("args", [["--help"], ["demo", "--help"]])
def test_help_imports_no_heavy_library(args):
    modules = imported_modules(*args)
    assert "sknumpynet" in modules
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_every_subcommand_has_a_light_help():
    from sknumpynet.__main__ import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in commands.choices:
        assert not imported_modules(command, "--help") & set(HEAVY), command


def test_demo_n_threads_option(capsys):
    assert main(["demo", "--n-threads", "0"]) == 2
    assert "--n-threads: must be a positive integer" in capsys.readouterr().err
    from sknumpynet.__main__ import build_parser

    assert build_parser().parse_args(["demo", "--n-threads", "1"]).n_threads == 1


def test_busy_note_says_when_the_machine_was_busy(monkeypatch):
    from sknumpynet import _demo

    monkeypatch.setattr(_demo.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(_demo.os, "getloadavg", lambda: (1.9, 1.0, 0.5))
    load = _demo.machine_load(None)  # 2 threads wanted, 0.1 core idle
    assert load["busy"] and load["load_average"] == 1.9
    assert "busy" in _demo.busy_note(load) and "--n-threads 1" in _demo.busy_note(load)
    assert _demo.machine_load(1)["busy"]  # even one thread finds 0.1 idle core
    monkeypatch.setattr(_demo.os, "getloadavg", lambda: (0.2, 0.1, 0.1))
    idle = _demo.machine_load(None)
    assert not idle["busy"] and "idle" in _demo.busy_note(idle)
    monkeypatch.setattr(_demo.os, "getloadavg", lambda: (0.9, 0.1, 0.1))
    assert _demo.machine_load(None)["busy"] and not _demo.machine_load(1)["busy"]


def test_version(capsys):
    from sknumpynet import __version__

    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["demo", "--dataset", "cifar"], "invalid choice: 'cifar'"),
        (["demo", "--epochs", "-3"], "--epochs: must be a positive integer"),
        (["demo", "--epochs", "0"], "--epochs: must be a positive integer"),
        (["demo", "--epochs", "many"], "--epochs: expected a positive integer"),
        (["demo", "--max-samples", "5"], "--max-samples: must be at least 20"),
        (["demo", "--hidden", "64,x"], "--hidden: expected comma-separated"),
        (["demo", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["train"], "invalid choice: 'train'"),
        ([], "missing command"),
    ],
)
def test_bad_arguments_give_one_line_error(args, fragment, capsys):
    status = main(args)
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("sknumpynet")
    assert "error:" in lines[0]
    assert fragment in lines[0]


def test_bad_arguments_exit_non_zero_in_a_subprocess():
    result = run_cli("demo", "--epochs", "-1")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--epochs" in result.stderr
    assert "Traceback" not in result.stderr


def test_unavailable_data_lists_each_url_tried_and_why(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    from sknumpynet import datasets

    # no folder holds the files and every download fails at once
    monkeypatch.setenv("SKNUMPYNET_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn-cache"))
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", {"fashion-mnist": [], "mnist": []})
    mirrors = ["http://127.0.0.1:9/", "http://127.0.0.1:10/"]
    monkeypatch.setattr(datasets, "MIRRORS", {"fashion-mnist": mirrors, "mnist": mirrors})
    status = main(["demo", "--dataset", "fashion-mnist", "--data-home", str(tmp_path / "d"),
                   "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 1
    lines = err.strip().splitlines()
    assert lines[0].startswith("sknumpynet demo: error: could not load Fashion-MNIST")
    assert lines[0].endswith("tried:"), lines[0]
    # each URL tried, with why it failed, on a line of its own
    tried = [line for line in lines if line.startswith("  - ")]
    assert len(tried) == 2, err
    for line, host in zip(tried, ("127.0.0.1:9", "127.0.0.1:10")):
        assert f"http://{host}/train-images-idx3-ubyte.gz: URLError" in line, line
        assert "refused" in line.lower(), line
    assert "--data-home" in lines[-1]
    assert "Traceback" not in err and len(lines) == 4, err


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One short demo on digits, in-process, shared by the tests below."""
    pytest.importorskip("matplotlib")
    from sknumpynet._demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    result = run_demo("digits", epochs=3, out=out, progress=False, stream=None)
    return out, result


def test_demo_writes_valid_pngs(demo_run):
    out, result = demo_run
    for name in FIGURES:
        path = out / name
        assert path.is_file(), name
        width, height = png_size(path)
        assert width >= 400 and height >= 300, (name, width, height)
        assert path.stat().st_size > 10_000, name  # not a blank canvas
    assert {p.name for k, p in result.files.items() if p.suffix == ".png"} == set(FIGURES)


def test_demo_model_loads_and_predicts_the_same(demo_run):
    # saved with sknumpynet.save (no joblib, no pickle), for pixels scaled to [0, 1]
    import sknumpynet

    out, result = demo_run
    assert not list(out.glob("*.joblib"))
    model = sknumpynet.load(out / "model.skn")
    pixels = result.X_test / 16
    np.testing.assert_array_equal(model.predict(pixels), result.y_pred)
    accuracy = np.mean(model.predict(pixels) == result.y_test)
    assert accuracy > 0.5  # three epochs on digits already learn a lot
    saved = json.loads((out / "results.json").read_text())
    ours = [r for r in saved["results"]
            if r["library"] == "sknumpynet" and r["estimator"] == "MLPClassifier"]
    assert ours[0]["accuracy"] == pytest.approx(accuracy)
    assert saved["settings"]["epochs"] == 3


def test_demo_compares_with_scikit_learn(demo_run):
    _, result = demo_run
    pairs = {(r["model"], r["library"]) for r in result.rows}
    assert pairs == {("MLP", "sknumpynet"), ("MLP", "scikit-learn"),
                     ("linear SVM", "sknumpynet"), ("linear SVM", "scikit-learn")}
    for row in result.rows:
        if row["accuracy"] is not None:
            assert 0.0 <= row["accuracy"] <= 1.0
            assert row["fit_seconds"] > 0


def test_demo_saves_the_machine_load(demo_run):
    out, _ = demo_run
    machine = json.loads((out / "results.json").read_text())["machine"]
    assert set(machine) == {"load_average", "cpu_count", "threads", "busy"}


def test_predictions_title_says_how_the_samples_were_chosen(monkeypatch, tmp_path):
    from sknumpynet import _demo, _plotting

    titles = []
    monkeypatch.setattr(_plotting, "plot_prediction_grid",
                        lambda *a, title=None, **k: titles.append(title))
    y_true = np.arange(100) % 10
    y_pred = y_true.copy()
    y_pred[:6] = (y_pred[:6] + 1) % 10  # 6 mistakes in 100
    data = {"X_test": np.zeros((100, 4)), "image_shape": (2, 2),
            "class_names": [str(c) for c in range(10)]}
    _demo._plot_predictions(data, y_true, y_pred, np.random.default_rng(0), tmp_path / "p")
    assert titles == ["sknumpynet MLPClassifier on 32 random test images: 6 mistakes shown "
                      "on purpose (up to a quarter), of 6 in 100 test images"]


def test_table_has_fixed_width_columns():
    from sknumpynet._demo import format_table

    rows = [
        {"model": "MLP", "library": "sknumpynet", "estimator": "MLPClassifier",
         "accuracy": 0.97, "fit_seconds": 1.5, "epochs": 30},
        {"model": "MLP", "library": "scikit-learn", "estimator": "MLPClassifier",
         "accuracy": 0.965, "fit_seconds": 12.25, "epochs": 27},
        {"model": "linear SVM", "library": "sknumpynet", "estimator": "LinearSVM",
         "accuracy": None, "fit_seconds": None, "epochs": None},
        {"model": "linear SVM", "library": "scikit-learn", "estimator": "LinearSVC",
         "accuracy": 0.96, "fit_seconds": 0.05, "epochs": None},
    ]
    lines = format_table(rows).splitlines()
    body = lines[1:5]  # the column header, the rule and the two model rows
    assert len({len(line.rstrip()) for line in body[:2]}) == 1
    header = lines[1]
    mlp = lines[3]
    # each accuracy ends under the right end of its header
    first = header.index("accuracy") + len("accuracy")
    assert mlp[first - 6:first] == "0.9700"
    second = header.index("accuracy", first) + len("accuracy")
    assert mlp[second - 6:second] == "0.9650"
    assert "n/a" in lines[4]


def test_demo_command_end_to_end(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo out"
    result = run_cli("demo", "--dataset", "digits", "--epochs", "3", "--out", str(out),
                     "--map", "pca", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout and "scikit-learn" in result.stdout
    for name in FIGURES + ["model.skn", "linear_svm.skn", "results.json"]:
        assert (out / name).is_file(), name
    for name in FIGURES:
        png_size(out / name)
    # how to load what it saved, last
    assert f"model = sknumpynet.load({str(out / 'model.skn')!r})" in result.stdout
    assert "model.predict(pixels / 16)" in result.stdout
    # off a terminal no per-epoch lines (scikit-learn's models print none either)
    assert "Iteration" not in result.stdout + result.stderr


def _one_line_failure(args, capsys):
    """Run ``main(args)``; return its stderr line after checking status 1 and no traceback."""
    status = main(args)
    captured = capsys.readouterr()
    assert status == 1, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert lines[0].startswith("sknumpynet demo: error: ")
    assert "Training" not in captured.out  # refused before any work
    return lines[0]


@pytest.mark.parametrize("n", [20, 50, 100, 121])
def test_demo_refuses_too_few_samples_before_any_work(n, tmp_path, capsys):
    # issue 21 item 16: from the parser's minimum up to 121 the early-stopping
    # (or the test) split had fewer samples than classes, a traceback mid-run
    pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    line = _one_line_failure(["demo", "--max-samples", str(n), "--out", str(out)], capsys)
    assert f"--max-samples {n} is too small for digits" in line
    assert "use --max-samples 122 or more" in line
    assert not out.exists()


def test_demo_smallest_max_samples_it_suggests_runs(tmp_path):
    pytest.importorskip("matplotlib")
    from sknumpynet._demo import run_demo, split_sizes

    assert min(split_sizes("digits", 122).values()) >= 10
    assert split_sizes("mnist", 91) == {"train": 81, "validation": 10, "test": 91}
    result = run_demo("digits", epochs=1, max_samples=122, out=tmp_path, map_method="pca",
                      progress=False, stream=None)
    assert all(row["accuracy"] is not None for row in result.rows)


def test_demo_refuses_huge_hidden_layers_in_one_line(tmp_path, capsys):
    # issue 21 item 17: the memory check's ValueError escaped as a traceback
    pytest.importorskip("matplotlib")
    line = _one_line_failure(["demo", "--hidden", "99999999999999999999",
                              "--out", str(tmp_path / "out")], capsys)
    assert line.startswith("sknumpynet demo: error: --hidden: hidden_layer_sizes=")
    assert "use smaller hidden layers" in line


@pytest.fixture
def read_only_folder(tmp_path, monkeypatch):
    """An existing folder nothing can be written into (root ignores modes: patched)."""
    import builtins
    import io
    import os

    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:
        def refuse(opener):
            def open_(file, *args, **kwargs):
                if isinstance(file, (str, os.PathLike)) and str(os.fspath(file)).startswith(
                        str(folder)):
                    raise PermissionError(13, "Permission denied", os.fspath(file))
                return opener(file, *args, **kwargs)
            return open_

        for module, name in ((builtins, "open"), (io, "open"), (os, "open")):
            monkeypatch.setattr(module, name, refuse(getattr(module, name)))
    yield folder
    folder.chmod(0o755)


def test_demo_checks_the_output_folder_before_training(read_only_folder, capsys):
    # issue 21 item 18: a read-only --out trained every model, then a
    # PermissionError traceback
    pytest.importorskip("matplotlib")
    line = _one_line_failure(["demo", "--out", str(read_only_folder), "--map", "pca"], capsys)
    assert f"cannot write to the output folder {read_only_folder}" in line
    assert "Permission denied" in line
    assert list(read_only_folder.iterdir()) == []


def test_demo_linear_svm_runs_its_defaults(demo_run):
    # issue 23 item 2: it was 30 SGD epochs with early stopping (0.942), below
    # what the default full-batch solver reaches
    import sknumpynet
    from sknumpynet import LinearSVM

    out, result = demo_run
    svm = sknumpynet.load(out / "linear_svm.skn")
    defaults = LinearSVM().get_params()
    changed = {k: v for k, v in svm.get_params().items() if v != defaults[k]}
    assert set(changed) <= {"random_state", "n_threads"}, changed
    row = next(r for r in result.rows if r["estimator"] == "LinearSVM")
    assert row["epochs"] is None  # full-batch iterations are not epochs
    assert row["accuracy"] > 0.95


def test_table_says_where_scikit_learn_wins():
    from sknumpynet._demo import format_table

    rows = [
        {"model": "MLP", "library": "sknumpynet", "estimator": "MLPClassifier",
         "accuracy": 0.97, "fit_seconds": 1.5, "epochs": 30},
        {"model": "MLP", "library": "scikit-learn", "estimator": "MLPClassifier",
         "accuracy": 0.96, "fit_seconds": 12.25, "epochs": 27},
        {"model": "linear SVM", "library": "sknumpynet", "estimator": "LinearSVM",
         "accuracy": 0.944, "fit_seconds": 0.5, "epochs": None},
        {"model": "linear SVM", "library": "scikit-learn", "estimator": "LinearSVC",
         "accuracy": 0.969, "fit_seconds": 0.05, "epochs": None},
    ]
    notes = [line for line in format_table(rows).splitlines() if "wins" in line]
    assert len(notes) == 2, notes
    assert notes[0].startswith("scikit-learn wins linear SVM on accuracy (0.9690 against "
                               "0.9440): LinearSVC also penalises its intercept")
    assert notes[1].startswith("scikit-learn wins linear SVM on fit time")


def test_a_win_within_the_printed_digits_is_no_win():
    """The demo printed "scikit-learn wins linear SVM on fit time (0.02 s against
    0.02 s)": a verdict must show in the numbers it prints."""
    from sknumpynet._demo import format_table

    rows = [
        {"model": "linear SVM", "library": "sknumpynet", "estimator": "LinearSVM",
         "accuracy": 0.96889, "fit_seconds": 0.0212, "epochs": None},
        {"model": "linear SVM", "library": "scikit-learn", "estimator": "LinearSVC",
         "accuracy": 0.96891, "fit_seconds": 0.0184, "epochs": None},
    ]
    assert not [line for line in format_table(rows).splitlines() if "wins" in line]


def test_busy_note_does_not_advise_the_threads_already_used(monkeypatch):
    from sknumpynet import _demo

    monkeypatch.setattr(_demo.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(_demo.os, "getloadavg", lambda: (1.9, 1.0, 0.5))
    note = _demo.busy_note(_demo.machine_load(1))
    assert note.startswith("NOTE: the machine was busy") and "--n-threads" not in note
    assert "--n-threads 1" in _demo.busy_note(_demo.machine_load(None))


def test_demo_prints_no_epoch_lines_off_a_terminal(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    from sknumpynet._demo import run_demo

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    run_demo("digits", epochs=2, out=tmp_path, map_method="pca", progress=True,
             stream=sys.stdout)
    captured = capsys.readouterr()
    assert "Iteration" not in captured.out + captured.err
    assert "Training sknumpynet MLPClassifier" in captured.out


def test_predictions_title_fits_the_figure(monkeypatch, tmp_path):
    # issue 23 item 2: a long title was clipped at both ends
    pytest.importorskip("matplotlib")
    from sknumpynet import _plotting

    figures = []
    monkeypatch.setattr(_plotting, "_save", lambda fig, path: figures.append(fig))
    title = ("sknumpynet MLPClassifier on 32 random test images: 8 mistakes shown on "
             "purpose (up to a quarter), of 16 in 450 test images")
    _plotting.plot_prediction_grid(np.zeros((32, 8, 8)), np.arange(32) % 10,
                                   np.arange(32) % 10, [str(c) for c in range(10)],
                                   tmp_path / "p.png", title=title)
    fig = figures[0]
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    box, page = fig._suptitle.get_window_extent(renderer), fig.bbox
    assert box.x0 >= page.x0 and box.x1 <= page.x1, (box, page)
    assert fig._suptitle.get_text().replace("\n", " ") == title


def test_unknown_demo_option_points_to_the_demo_help(capsys):
    assert main(["demo", "--frobnicate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("sknumpynet demo: error: unrecognized arguments: --frobnicate "
                   "(see 'sknumpynet demo --help')")
    assert main(["--frobnicate"]) == 2
    assert "(see 'sknumpynet --help')" in capsys.readouterr().err


def test_failed_download_leaves_no_folders_behind(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    from sknumpynet import datasets

    monkeypatch.setenv("SKNUMPYNET_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn-cache"))
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", {"fashion-mnist": [], "mnist": []})
    monkeypatch.setattr(datasets, "MIRRORS", {"fashion-mnist": ["http://127.0.0.1:9/"],
                                              "mnist": ["http://127.0.0.1:9/"]})
    (tmp_path / "kept").mkdir()
    (tmp_path / "sklearn-cache").mkdir()  # scikit-learn's own data folder, made by it
    status = main(["demo", "--dataset", "fashion-mnist",
                   "--data-home", str(tmp_path / "missing" / "data"),
                   "--out", str(tmp_path / "kept" / "new" / "out")])
    assert status == 1
    assert "could not load Fashion-MNIST" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["kept", "sklearn-cache"]


# -- a missing dependency and Ctrl-C -------------------------------------------------


@pytest.mark.parametrize(
    "error, status, line",
    [
        (ImportError("No module named 'matplotlib'"), 1,
         "sknumpynet demo: error: No module named 'matplotlib'"),
        (KeyboardInterrupt(), 130, "sknumpynet demo: interrupted"),
    ],
)
def test_cli_status_when_a_dependency_is_missing_or_on_ctrl_c(monkeypatch, capsys, tmp_path,
                                                              error, status, line):
    """Planted bug: the CLI exiting 0 when a dependency fails to import (and 130
    on Ctrl-C was untested)."""
    from sknumpynet import _demo
    from sknumpynet.__main__ import main

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(_demo, "run_demo", fail)
    assert main(["demo", "--out", str(tmp_path)]) == status
    captured = capsys.readouterr()
    assert captured.err.strip() == line and "Traceback" not in captured.err


def test_cli_without_matplotlib_exits_1_in_a_subprocess(tmp_path):
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import sys
        sys.modules["matplotlib"] = None  # import matplotlib now raises ImportError
        from sknumpynet.__main__ import main
        sys.exit(main(["demo", "--out", {str(tmp_path)!r}, "--epochs", "1"]))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "matplotlib" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
