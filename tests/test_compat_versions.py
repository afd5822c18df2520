"""scikit-learn 1.6 to 1.9: what changes with the version goes through ``sknumpynet._compat``.

The fallbacks for a scikit-learn without ``sklearn.callback`` are tested here on
whatever scikit-learn is installed, by hiding that module in a fresh interpreter;
``.ci/run`` also runs the estimator tests on the oldest supported release.
"""

import ast
import pathlib
import subprocess
import sys
import textwrap

import pytest
import sklearn

import sknumpynet
from sknumpynet import _compat

PACKAGE = pathlib.Path(sknumpynet.__file__).parent

# the callback bookkeeping attributes scikit-learn's machinery keeps on an estimator,
# the HTML repr's, and private methods of scikit-learn's base classes: names that
# only _compat may spell
PRIVATE_ATTRIBUTES = {
    "_skl_callbacks",
    "_parent_callback_ctx",
    "_callback_fit_ctx",
    "_skl_callbacks_to_teardown",
    "_doc_link_module",
    "_doc_link_template",
    # scikit-learn's private methods
    "_init_callback_context",
    "_validate_params",
    "_check_n_features",
    "_check_feature_names",
    "_get_tags",
    "_more_tags",
}


def _private_uses(path):
    """``(line, what)`` for each private scikit-learn/skl2onnx name used in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] not in ("sklearn", "skl2onnx"):
                continue
            names = [a.name for a in node.names]
            if any(p.startswith("_") for p in parts) or any(n.startswith("_") for n in names):
                uses.append((node.lineno, f"from {node.module} import {', '.join(names)}"))
        elif isinstance(node, ast.Import):
            uses += [
                (node.lineno, f"import {a.name}")
                for a in node.names
                if a.name.split(".")[0] in ("sklearn", "skl2onnx")
                and any(p.startswith("_") for p in a.name.split("."))
            ]
        elif isinstance(node, ast.Attribute) and node.attr in PRIVATE_ATTRIBUTES:
            uses.append((node.lineno, node.attr))
        elif isinstance(node, ast.Constant) and node.value in PRIVATE_ATTRIBUTES:
            uses.append((node.lineno, repr(node.value)))
    return uses


def test_private_names_only_in_compat():
    found = {
        f"{path.relative_to(PACKAGE)}:{line}": what
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "_compat.py"
        for line, what in _private_uses(path)
    }
    assert found == {}, "private scikit-learn/skl2onnx names outside _compat.py"


def test_the_scan_finds_private_names(tmp_path):
    # the scan above must be able to fail: each kind of use is found
    source = tmp_path / "module.py"
    source.write_text(
        textwrap.dedent("""
        from sklearn.utils import _safe_indexing
        from sklearn.utils._param_validation import Interval
        import skl2onnx._parse
        from sklearn.utils import check_array
        x = est._skl_callbacks
        keep = ("_callback_fit_ctx",)
    """)
    )
    lines = [line for line, _ in _private_uses(source)]
    assert lines == [2, 3, 4, 6, 7]


def test_version_switches_match_the_installed_scikit_learn():
    version = tuple(int(p) for p in sklearn.__version__.split(".")[:2])
    assert _compat.SKLEARN_VERSION == version
    assert _compat.HAS_CALLBACKS == (version >= (1, 9))
    assert _compat.HAS_PIPELINE_TRANSFORM_INPUT == (version >= (1, 7))


@pytest.mark.parametrize(
    "version, expected", [("1.6.1", (1, 6)), ("1.9.0rc1", (1, 9)), ("1.10.dev0", (1, 10))]
)
def test_version_tuple(version, expected):
    assert _compat._version_tuple(version) == expected


# a scikit-learn without sklearn.callback (< 1.9), on any installed version: _compat
# is imported while sklearn.callback has none of its names
_WITHOUT_CALLBACKS = """
import sys
import types
import numpy as np
import sklearn.utils._param_validation  # loads sklearn.callback where scikit-learn has it
import sklearn.utils.validation

real = sys.modules.get("sklearn.callback")
sys.modules["sklearn.callback"] = types.ModuleType("sklearn.callback")  # empty: ImportError
import sknumpynet._compat
if real is None:
    del sys.modules["sklearn.callback"]
else:
    sys.modules["sklearn.callback"] = real
from sknumpynet import MLPClassifier, MLPRegressor
from sknumpynet._compat import HAS_CALLBACKS
assert not HAS_CALLBACKS
rng = np.random.default_rng(0)
X = rng.normal(size=(60, 3))
y = (X[:, 0] > 0).astype(int)
clf = MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
reg = MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=3, random_state=0)
reg.fit(X, X[:, 1])
print("fitted", clf.n_iter_, reg.n_iter_, sorted(k for k in vars(clf) if "callback" in k))
try:
    clf.set_callbacks(object())
except ImportError as exc:
    print("ImportError:", exc)
"""


def test_without_sklearn_callback_fits_and_set_callbacks_says_which_version():
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", _WITHOUT_CALLBACKS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    fitted, error = out.stdout.splitlines()
    assert fitted == "fitted 3 3 []"  # no callback bookkeeping left behind
    assert "set_callbacks needs scikit-learn >= 1.9" in error
    assert f"scikit-learn {sklearn.__version__} is installed" in error


@pytest.mark.skipif(_compat.HAS_CALLBACKS, reason="the stand-in is used below 1.9 only")
def test_set_callbacks_refused_on_this_scikit_learn():
    from sknumpynet import MLPClassifier

    with pytest.raises(ImportError, match=r"scikit-learn >= 1\.9"):
        MLPClassifier().set_callbacks(object())
