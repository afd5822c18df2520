"""sknumpynet.load on damaged and hostile model files (issue 21, "model files").

Every file here is a real saved model whose bytes were then changed: a
flipped bit, a cut, members made to overlap, sizes or numbers the arrays do
not back, dtypes spelled differently, big-endian arrays, classes that do not
match the network. ``load`` must either give back the model or raise a
ValueError that names the file and says what is wrong with it, before it
allocates more than the file's own size.
"""

import io
import json
import struct
import tracemalloc
import zipfile
import zlib

import model_files
import numpy as np
import pytest
from sklearn.datasets import make_classification

import sknumpynet
from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n_classes=3):
    X, y = make_classification(
        60, 4, n_informative=3, n_redundant=0, n_classes=n_classes, random_state=0
    )
    return X, y


@pytest.fixture
def fitted(tmp_path):
    X, y = _data()
    est = MLPClassifier((5,), max_iter=2, random_state=0).fit(X, np.array(["a", "b", "c"])[y])
    path = tmp_path / "model.skn"
    sknumpynet.save(est, path)
    return path, est, X


def _refused(path, match):
    with pytest.raises(ValueError, match=match) as info:
        sknumpynet.load(path)
    assert str(path) in str(info.value)
    return str(info.value)


def _peak_bytes(function):
    tracemalloc.start()
    try:
        function()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def _modules(state):
    yield state
    for child in state["children"]:
        yield from _modules(child)


def _module(meta, type_name, index=0):
    found = [m for m in _modules(meta["fitted"]["network_"]["module"]) if m["type"] == type_name]
    return found[index]


def _item(encoded_dict, key):
    return next(pair for pair in encoded_dict["items"] if pair[0] == key)


# -- 1: damage --------------------------------------------------------------------------


def _structure_offsets(data):
    """Offsets of every byte of the zip's headers and central directory."""
    offsets = set()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            start = info.header_offset
            offsets.update(range(start, start + 30 + len(info.filename)))
        offsets.update(range(z.start_dir, len(data)))
    return sorted(offsets)


def test_one_flipped_bit_anywhere_is_a_value_error_that_says_damaged(tmp_path):
    X, y = _data(n_classes=2)
    est = LinearSVM(max_iter=2, random_state=0).fit(X, y)
    path = tmp_path / "model.skn"
    sknumpynet.save(est, path)
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    positions = _structure_offsets(data) + sorted(rng.choice(len(data), 150, replace=False))
    expected = est.decision_function(X)
    outcomes = {"loads": 0, "refused": 0}
    for pos in positions:
        damaged = bytearray(data)
        damaged[pos] ^= 1 << (pos % 8)
        path.write_bytes(bytes(damaged))
        try:
            loaded = sknumpynet.load(path)
        except ValueError as exc:
            assert "damaged" in str(exc) and str(path) in str(exc), (pos, str(exc))
            outcomes["refused"] += 1
        else:  # a bit nobody reads (a timestamp, an attribute): the same model
            np.testing.assert_array_equal(loaded.decision_function(X), expected)
            outcomes["loads"] += 1
    assert outcomes["refused"] > len(positions) // 2, outcomes


@pytest.mark.parametrize("keep", [0.5, 0.99, 0.1])
def test_a_truncated_file_is_reported_as_damaged(fitted, keep):
    path, _, _ = fitted
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    _refused(path, "damaged")


def test_a_zip_of_another_program_is_not_a_model_file(tmp_path):
    path = tmp_path / "arrays.npz"
    np.savez(path, a=np.arange(3))
    _refused(path, "not a sknumpynet model file")


# -- 2: overlapping members (a zip bomb) ------------------------------------------------------


def _overlap_bomb(path, n_members=150):
    """Stored members whose data runs to the end of the last one: each holds the
    next member's header, so reading them all reads n_members / 2 times the file."""
    members = model_files.members(path)
    members.update({f"arrays/{i}.npy": members["arrays/0.npy"] for i in range(n_members)})
    model_files.write(path, members)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        infos, end = z.infolist(), z.start_dir
    position = end
    for info in infos:  # central directory entries, in order
        assert data[position:position + 4] == b"PK\x01\x02"
        name_len, extra_len, comment_len = struct.unpack("<3H", data[position + 28:position + 34])
        start = info.header_offset + 30 + len(info.filename)
        if info.filename.startswith("arrays/"):
            size, crc = end - start, zlib.crc32(data[start:end])
            data[position + 16:position + 28] = struct.pack("<3L", crc, size, size)
            data[info.header_offset + 14:info.header_offset + 26] = struct.pack(
                "<3L", crc, size, size)
        position += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))
    return len(data)


def test_an_overlap_zip_bomb_is_refused_before_reading_its_members(fitted):
    path, _, _ = fitted
    size = _overlap_bomb(path)
    message = []
    peak = _peak_bytes(lambda: message.append(_refused(path, "overlap")))
    assert "hostile" in message[0]
    assert peak < 4 * size, f"load used {peak} bytes on a {size}-byte file"


def test_members_beyond_the_archive_are_refused(fitted):
    path, _, _ = fitted
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        start = z.start_dir
    # the first central directory entry (sknumpynet.json): sizes of 1 GB, in both headers
    data[start + 20:start + 28] = struct.pack("<2L", 2**30, 2**30)
    data[14 + 4:14 + 12] = struct.pack("<2L", 2**30, 2**30)
    path.write_bytes(bytes(data))
    _refused(path, "beyond the end")


# -- 3: declared sizes the arrays do not back ---------------------------------------------


def _declare(path, type_name, **args):
    def edit(meta):
        _module(meta, type_name)["args"].update(args)
    model_files.edit_meta(path, edit)


def test_a_huge_declared_linear_is_refused_before_it_is_allocated(fitted):
    path, _, _ = fitted
    # 3000 x 3000 float64 is 72 MB (the 30000 x 30000 took 6.7 GiB and 41 s)
    _declare(path, "Linear", in_features=3000, out_features=3000)
    peak = _peak_bytes(lambda: _refused(path, r"declares .*\(3000, 3000\).*\(4, 5\)"))
    assert peak < 8 * 2**20, f"load allocated {peak} bytes"


@pytest.fixture(scope="module")
def tabular(tmp_path_factory):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40),
                          "c": pd.Categorical(rng.integers(0, 12, 40).astype(str))})
    est = sknumpynet.TabularMLPClassifier(
        hidden_layer_sizes=(4,), max_onehot=2, embedding_dim=3, max_iter=2, random_state=0,
        numeric_embedding="pbld",
    ).fit(frame, (frame.a > 0).astype(int))
    path = tmp_path_factory.mktemp("tabular") / "model.skn"
    sknumpynet.save(est, path)
    return path.read_bytes(), est, frame


@pytest.mark.parametrize("type_name, args, match", [
    ("Scale", {"num_features": 3 * 10**6}, r"declares .*3000000"),
    ("CategoricalEmbedding", {"cardinalities": {"kind": "list", "items": [3 * 10**6]}},
     r"declares .*3000000"),
    ("CategoricalEmbedding", {"embedding_dims": {"kind": "list", "items": [10**6]}},
     r"declares .*1000000"),
    ("CategoricalEmbedding", {"n_features": 3 * 10**6}, "width"),
    ("PeriodicEmbedding", {"n_frequencies": 3 * 10**6}, r"declares .*3000000"),
    ("PeriodicEmbedding", {"n_features": 3 * 10**6}, "width"),
    ("PeriodicEmbedding", {"columns": {"kind": "list", "items": [0, 0]}},
     "columns must be distinct"),
    ("PeriodicEmbedding", {"columns": {"kind": "list", "items": [0, 0.5]}},
     "columns is not a non-empty list of integers"),
])
def test_huge_declared_tabular_layers_are_refused_before_allocation(
        tabular, tmp_path, type_name, args, match):
    data, _, _ = tabular
    path = tmp_path / "model.skn"
    path.write_bytes(data)
    _declare(path, type_name, **args)
    peak = _peak_bytes(lambda: _refused(path, match))
    assert peak < 8 * 2**20, f"load allocated {peak} bytes"


def test_the_tabular_model_with_embeddings_round_trips(tabular, tmp_path):
    data, est, frame = tabular
    path = tmp_path / "model.skn"
    path.write_bytes(data)
    loaded = sknumpynet.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(frame), est.predict_proba(frame))


def test_every_module_with_arrays_has_its_shapes_declared():
    from sknumpynet import io as skio
    from sknumpynet import nn

    examples = {
        "Linear": nn.Linear(3, 2, rng=np.random.default_rng(0)),
        "BatchNorm1d": nn.BatchNorm1d(3), "Scale": nn.Scale(3),
        "Embedding": nn.Embedding(4, 2, rng=np.random.default_rng(0)),
        "CategoricalEmbedding": nn.CategoricalEmbedding(3, [1], [4], [2]),
        "PeriodicEmbedding": nn.PeriodicEmbedding(3, [0, 2], n_frequencies=5, embedding_dim=2),
    }
    for name in skio._MODULES:
        if name not in examples:  # a module without arrays of its own
            module = getattr(nn, name)() if name != "Sequential" else nn.Sequential()
            assert not module.parameters() and not getattr(module, "_buffer_names", ())
            continue
        module = examples[name]
        state = json.loads(json.dumps(skio.module_state(module, skio._Encoder())))
        args = {k: skio._Decoder([], []).value(v) for k, v in state["args"].items()
                if k != "rng"}
        params, buffers = skio._declared_shapes(name, args)
        assert params == [p.shape for p in module.parameters()]
        assert buffers == [getattr(module, b).shape for b in getattr(module, "_buffer_names", ())]


# -- 4: numbers out of range ------------------------------------------------------------------


@pytest.mark.parametrize("value", [
    {"kind": "scalar", "dtype": "<i8", "value": 10**30},
    {"kind": "scalar", "dtype": "<i8", "value": float("inf")},
    {"kind": "scalar", "dtype": "|u1", "value": -1},
    {"kind": "scalar", "dtype": "<f4", "value": 1e300},
    {"kind": "scalar", "dtype": "|b1", "value": 2},
    {"kind": "scalar", "dtype": "<i8", "value": "7"},
    {"kind": "object_array", "shape": [float("inf")], "items": []},
    {"kind": "object_array", "shape": [-1], "items": ["a"]},
])
def test_numbers_out_of_range_are_value_errors(fitted, value):
    path, _, _ = fitted
    model_files.edit_meta(path, lambda m: m["fitted"].update(x_=value))
    _refused(path, "out of range|is not a|shape")


def test_infinite_floats_where_floats_belong_still_load(fitted):
    path, est, X = fitted
    model_files.edit_meta(path, lambda m: m["fitted"].update(
        best_loss_={"kind": "scalar", "dtype": "<f8", "value": float("inf")}))
    assert sknumpynet.load(path).best_loss_ == np.inf


def test_a_huge_random_state_number_is_a_value_error(fitted):
    path, _, _ = fitted
    model_files.edit_meta(path, lambda m: _item(
        _item(m["generators"][0], "state")[1], "state").__setitem__(1, 10**60))
    _refused(path, "bit generator|out of range")


# -- 5: dtypes, by what they resolve to ------------------------------------------------------


@pytest.mark.parametrize("spelling", ["|O", "V8", "object", "void", "i4,f8", "O", "(2,)f8",
                                      "[('a', '<f8')]", "not a dtype"])
@pytest.mark.parametrize("kind", ["scalar", "dtype"])
def test_forbidden_dtypes_are_refused_however_spelled(fitted, spelling, kind):
    path, _, _ = fitted
    value = ({"kind": "scalar", "dtype": spelling, "value": 1} if kind == "scalar"
             else {"kind": "dtype", "str": spelling})
    model_files.edit_meta(path, lambda m: m["fitted"].update(x_=value))
    _refused(path, "dtype .* is not allowed")


def test_a_structured_array_member_is_refused(fitted):
    path, _, _ = fitted
    members = model_files.members(path)
    buf = io.BytesIO()
    np.save(buf, np.zeros(3, dtype="i4,f8"))
    members["arrays/0.npy"] = buf.getvalue()
    model_files.write(path, members)
    _refused(path, "dtype .* is not allowed")


# -- 6: big-endian files ------------------------------------------------------------------------


def _as_big_endian(path):
    members = model_files.members(path)
    for name, data in members.items():
        if name.startswith("arrays/"):
            a = np.load(io.BytesIO(data))
            buf = io.BytesIO()
            np.save(buf, a.astype(a.dtype.newbyteorder(">")))
            members[name] = buf.getvalue()
    text = members["sknumpynet.json"].decode()
    for little, big in (('"<f8"', '">f8"'), ('"<f4"', '">f4"'), ('"<i8"', '">i8"')):
        text = text.replace(little, big)
    members["sknumpynet.json"] = text.encode()
    model_files.write(path, members)


@pytest.mark.parametrize("est, dtype", [
    (MLPClassifier((5,), batch_norm=True, max_iter=2, random_state=0), np.float64),
    (MLPClassifier((5,), max_iter=2, random_state=0), np.float32),
    (LinearSVM(probability=True, max_iter=2, random_state=0), np.float64),
], ids=["mlp-bn", "mlp-float32", "svm"])
def test_a_model_saved_on_a_big_endian_machine_loads(est, dtype, tmp_path):
    X, y = _data()
    X = X.astype(dtype)
    est.fit(X, np.array(["a", "b", "c"])[y])
    path = tmp_path / "model.skn"
    sknumpynet.save(est, path)
    _as_big_endian(path)
    assert b'">f' in model_files.members(path)["sknumpynet.json"]
    loaded = sknumpynet.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert loaded.predict(X).tolist() == est.predict(X).tolist()
    for a in loaded.network_.state_arrays():
        assert a.dtype.isnative
    assert loaded.classes_.dtype.isnative
    loaded.partial_fit(X, np.array(["a", "b", "c"])[y])


# -- 7: the estimator's own invariants ------------------------------------------------------------


def _object_array(items):
    return {"kind": "object_array", "shape": [len(items)], "items": items}


@pytest.mark.parametrize("edit, match", [
    (lambda m: m["fitted"].update(classes_=_object_array(["a", "b"])), "classes"),
    (lambda m: m["fitted"].update(classes_=_object_array(["a", "b", "c", "d"])), "classes"),
    (lambda m: m["fitted"].update(classes_=_object_array(["a", "a", "b"])), "classes"),
    (lambda m: m["fitted"].update(n_outputs_=5), "n_outputs_"),
    (lambda m: m["fitted"].update(_label_kind="binary"), "classes"),
], ids=["too-few-classes", "too-many-classes", "duplicate-classes", "n-outputs", "binary"])
def test_classes_that_disagree_with_the_network_are_refused(fitted, edit, match):
    path, _, _ = fitted
    model_files.edit_meta(path, edit)
    _refused(path, match)


def test_regressor_quantiles_that_disagree_with_the_network_are_refused(tmp_path):
    X, _ = _data()
    est = MLPRegressor("quantile", quantile=[0.1, 0.5, 0.9], hidden_layer_sizes=(4,),
                       max_iter=2, random_state=0).fit(X, X[:, 0])
    path = tmp_path / "model.skn"
    sknumpynet.save(est, path)
    model_files.edit_meta(path, lambda m: m["fitted"].update(
        quantiles_={"kind": "list", "items": [0.1, 0.9]}))
    _refused(path, "quantiles_")


@pytest.mark.parametrize("n_classes, multi_class", [(2, "ovr"), (2, "crammer_singer"), (3, "ovr")])
def test_linear_svm_classes_against_its_outputs(tmp_path, n_classes, multi_class):
    X, y = _data(n_classes)
    est = LinearSVM(multi_class=multi_class, max_iter=2, random_state=0).fit(X, y)
    path = tmp_path / "model.skn"
    sknumpynet.save(est, path)
    np.testing.assert_array_equal(sknumpynet.load(path).decision_function(X),
                                  est.decision_function(X))
    model_files.edit_meta(
        path, lambda m: m["fitted"].update(classes_=_object_array(list(range(5))))
    )
    _refused(path, "classes")
