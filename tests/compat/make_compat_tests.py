"""Build tests/compat from the installed scikit-learn's own test files."""
import ast
import sys

import sklearn

S = sklearn.__path__[0]
V = sklearn.__version__
OUT = sys.argv[1]


def keep_tests(src, names):
    """The module with every top-level test function not in ``names`` cut out.

    Everything else (imports, data, helpers, the kept tests) stays verbatim.
    """
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    found, cut = set(), []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            if node.name in names:
                found.add(node.name)
                continue
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            cut.append((start - 1, node.end_lineno))
    assert found == set(names), set(names) - found
    for start, end in reversed(cut):
        del lines[start:end]
    text = "".join(lines)
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    return text


def header(source, diffs):
    import textwrap

    def wrap(text, first, rest):
        return textwrap.wrap(text, 96, initial_indent=first, subsequent_indent=rest)

    text = wrap("Copied from scikit-learn " + V + "'s " + source
                + ", from the installed wheel, by tests/compat/make_compat_tests.py.", "# ", "# ")
    text += ["# Differences from the original, all of them:"]
    for d in diffs:
        text += wrap(d, "#   - ", "#     ")
    text += [
        "# Expected failures are marked in tests/compat/conftest.py (MARKS), not here.",
        "",
    ]
    return "\n".join(text) + "\n"


def replace_once(text, old, new):
    assert text.count(old) == 1, (old, text.count(old))
    return text.replace(old, new)


# --- test_mlp.py: the whole file
src = open(f"{S}/neural_network/tests/test_mlp.py").read()
src = replace_once(
    src,
    "from sklearn.neural_network import MLPClassifier, MLPRegressor\n",
    "from sknumpynet import MLPClassifier, MLPRegressor\n",
)
open(f"{OUT}/test_sklearn_mlp.py", "w").write(header(
    "sklearn/neural_network/tests/test_mlp.py (the whole file)",
    ["the import of MLPClassifier, MLPRegressor comes from sknumpynet.",
     "this comment block."],
) + src)

# --- test_svm.py: the tests that exercise LinearSVC
SVM_TESTS = [
    "test_weight", "test_auto_weight", "test_bad_input", "test_linearsvc_parameters",
    "test_linearsvc", "test_linearsvc_crammer_singer", "test_linearsvc_fit_sampleweight",
    "test_crammer_singer_binary", "test_linearsvc_iris", "test_dense_liblinear_intercept_handling",
    "test_liblinear_set_coef", "test_linearsvc_verbose", "test_linear_svm_convergence_warnings",
    "test_lsvc_intercept_scaling_zero", "test_linearsvm_liblinear_sample_weight",
]
src = keep_tests(open(f"{S}/svm/tests/test_svm.py").read(), SVM_TESTS)
src = replace_once(src, "    LinearSVC,\n", "")
src = replace_once(
    src, "from sklearn.utils.validation import _num_samples\n",
    "from sklearn.utils.validation import _num_samples\n\n"
    "from sknumpynet import LinearSVM as LinearSVC\n",
)
src = src.replace("svm.LinearSVC", "LinearSVC")
open(f"{OUT}/test_sklearn_linearsvc.py", "w").write(header(
    "sklearn/svm/tests/test_svm.py: the " + str(len(SVM_TESTS)) + " tests that fit a "
    "LinearSVC, with everything else of the module (imports, toy data, helpers) verbatim",
    ["LinearSVC is sknumpynet's LinearSVM: `from sknumpynet import LinearSVM as LinearSVC` "
     "replaces LinearSVC in the `from sklearn.svm import (...)` list, and every "
     "`svm.LinearSVC` is written `LinearSVC` (the tests reach it through the svm module).",
     "only these tests are kept: " + ", ".join(SVM_TESTS) + "; the others test "
     "SVC/NuSVC/SVR/LinearSVR/OneClassSVM or sklearn's private _validate_dual_parameter.",
     "this comment block."],
) + src)

# --- test_sparse.py: its LinearSVC tests
SPARSE_TESTS = ["test_linearsvc", "test_linearsvc_iris", "test_weight",
                "test_sparse_liblinear_intercept_handling"]
src = keep_tests(open(f"{S}/svm/tests/test_sparse.py").read(), SPARSE_TESTS)
src = replace_once(
    src, "    LIL_CONTAINERS,\n)\n",
    "    LIL_CONTAINERS,\n)\n\nfrom sknumpynet import LinearSVM as LinearSVC\n",
)
src = src.replace("svm.LinearSVC", "LinearSVC")
open(f"{OUT}/test_sklearn_linearsvc_sparse.py", "w").write(header(
    "sklearn/svm/tests/test_sparse.py: the " + str(len(SPARSE_TESTS)) + " tests that fit a "
    "LinearSVC, with everything else of the module (imports, data, helpers) verbatim",
    ["LinearSVC is sknumpynet's LinearSVM (`from sknumpynet import LinearSVM as LinearSVC` "
     "added to the imports) and every `svm.LinearSVC` is written `LinearSVC`.",
     "only these tests are kept: " + ", ".join(SPARSE_TESTS) + ".",
     "this comment block."],
) + src)

# --- test_svm.py: the tests that exercise LinearSVR
SVR_TESTS = [
    "test_svr", "test_linearsvr", "test_linearsvr_fit_sampleweight",
    "test_linear_svm_convergence_warnings", "test_svr_coef_sign",
    "test_linearsvm_liblinear_sample_weight",
]
src = keep_tests(open(f"{S}/svm/tests/test_svm.py").read(), SVR_TESTS)
src = replace_once(src, "    LinearSVR,\n", "")
src = replace_once(
    src, "from sklearn.utils.validation import _num_samples\n",
    "from sklearn.utils.validation import _num_samples\n\n"
    "from sknumpynet import LinearSVR\n",
)
src = src.replace("svm.LinearSVR", "LinearSVR")
open(f"{OUT}/test_sklearn_linearsvr.py", "w").write(header(
    "sklearn/svm/tests/test_svm.py: the " + str(len(SVR_TESTS)) + " tests that fit a "
    "LinearSVR, with everything else of the module (imports, toy data, helpers) verbatim",
    ["LinearSVR is sknumpynet's: `from sknumpynet import LinearSVR` replaces LinearSVR in the "
     "`from sklearn.svm import (...)` list, and every `svm.LinearSVR` is written `LinearSVR` "
     "(the tests reach it through the svm module).",
     "only these tests are kept: " + ", ".join(SVR_TESTS) + "; the others test "
     "SVC/NuSVC/SVR/LinearSVC/OneClassSVM. The kept ones also fit scikit-learn's SVR, NuSVR "
     "and LinearSVC beside LinearSVR (as references, or in shared parametrizations); "
     "LinearSVC is tested as sknumpynet's LinearSVM in test_sklearn_linearsvc.py.",
     "this comment block."],
) + src)
