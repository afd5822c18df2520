"""Tests for :mod:`sknumpynet.datasets`.

Everything runs offline on small generated IDX files, except
``test_real_fashion_mnist``, which reads the real files from the folder named
by ``SKNUMPYNET_TEST_FASHION_MNIST`` or from ``../shared/data/fashion-mnist``
next to the repository (skipped when neither exists).  Downloads are only
ever attempted from an HTTP server the tests start on 127.0.0.1.
"""

import gzip
import hashlib
import http.server
import os
import re
import socket
import sys
import threading
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.utils import Bunch

from sknumpynet import datasets
from sknumpynet.datasets import (
    DownloadError,
    fetch_fashion_mnist,
    fetch_mnist,
    load_idx,
    write_idx,
)

REPO_ROOT = Path(__file__).resolve().parents[1]

# Captured before any test patches them.
ORIGINAL_SHA256 = {name: dict(table) for name, table in datasets.SHA256.items()}
ORIGINAL_COUNTS = dict(datasets.EXPECTED_N_SAMPLES)

N_TRAIN, N_TEST = 6, 4
STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
ALL_GZ = [f"{stem}.gz" for part in ("train", "test") for stem in STEMS[part]]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Keep every test away from the user's folders and from the network.

    The scikit-learn data home is a temporary folder, ``SKNUMPYNET_DATA`` is
    unset, there are no system folders, the expected counts match the small
    fake files, and the mirrors point to a closed port on 127.0.0.1.
    """
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn_home"))
    monkeypatch.delenv("SKNUMPYNET_DATA", raising=False)
    for var in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(
        datasets, "SYSTEM_DATA_DIRS", {"fashion-mnist": [], "mnist": []}
    )
    monkeypatch.setattr(
        datasets, "EXPECTED_N_SAMPLES", {"train": N_TRAIN, "test": N_TEST}
    )
    closed = closed_port_url()
    monkeypatch.setattr(
        datasets, "MIRRORS", {"fashion-mnist": [closed], "mnist": [closed]}
    )
    monkeypatch.setattr(datasets, "DOWNLOAD_TIMEOUT", 5.0)
    return tmp_path


def closed_port_url():
    """Return an http URL on 127.0.0.1 where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def cache_dir(tmp_path, name="fashion-mnist"):
    return tmp_path / "sklearn_home" / "sknumpynet" / name


def make_fake(folder, *, seed=0, gz=True, parts=("train", "test")):
    """Write small fake MNIST-like files into ``folder`` and return the arrays."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {}
    for part, n in (("train", N_TRAIN), ("test", N_TEST)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        arrays[part] = (images, labels)
        if part in parts:
            suffix = ".gz" if gz else ""
            write_idx(folder / f"{STEMS[part][0]}{suffix}", images)
            write_idx(folder / f"{STEMS[part][1]}{suffix}", labels)
    return arrays


def assert_loaded(bunch, arrays, part="train"):
    images, labels = arrays[part]
    np.testing.assert_array_equal(bunch.images, images)
    np.testing.assert_array_equal(bunch.target, labels.astype(np.int64))


def list_files(folder):
    return sorted(os.listdir(folder)) if Path(folder).exists() else []


# --------------------------------------------------------------------------
# IDX reading and writing
# --------------------------------------------------------------------------

ROUND_TRIP_ARRAYS = {
    "uint8-3d": np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
    "int8": np.array([-128, -1, 0, 1, 127], dtype=np.int8),
    "int16": np.array([[-32768, 300], [7, 32767]], dtype=np.int16),
    "int32": np.array([[-(2**31), -1], [65536, 2**31 - 1]], dtype=np.int32),
    "int32-big-endian": np.arange(5, dtype=">i4"),
    "float32": np.array([[0.5, -1.25, np.inf], [1e-30, 3.0, -0.0]], np.float32),
    "float64": np.linspace(-1, 1, 7).reshape(7, 1),
}


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("key", sorted(ROUND_TRIP_ARRAYS))
def test_idx_round_trip(tmp_path, key, suffix):
    array = ROUND_TRIP_ARRAYS[key]
    path = tmp_path / f"{key}.idx{suffix}"
    write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    loaded = load_idx(path)
    assert loaded.shape == array.shape
    assert loaded.dtype == array.dtype.newbyteorder("=")
    assert loaded.dtype.isnative
    assert loaded.flags.writeable
    np.testing.assert_array_equal(loaded, array)


@settings(max_examples=40, deadline=None)
@given(
    array=hnp.arrays(
        dtype=st.sampled_from(["u1", "i1", ">i2", "<i4", "f4", ">f8"]),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    ),
    compress=st.booleans(),
)
def test_idx_round_trip_property(tmp_path_factory, array, compress):
    path = tmp_path_factory.mktemp("idx") / "array.idx"
    write_idx(path, array, compress=compress)
    loaded = load_idx(path)
    assert loaded.shape == array.shape
    assert loaded.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(loaded, array)


def test_write_idx_layout(tmp_path):
    """The bytes follow the IDX specification, not just our own reader."""
    path = tmp_path / "a.idx"
    write_idx(path, np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8))
    assert path.read_bytes() == bytes(
        [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]
    )
    write_idx(path, np.array([1, -2], dtype=np.int32))
    assert path.read_bytes() == bytes(
        [0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE]
    )
    write_idx(path, np.array([1.0], dtype=np.float64))
    assert path.read_bytes() == bytes([0, 0, 0x0E, 1, 0, 0, 0, 1]) + bytes.fromhex(
        "3ff0000000000000"
    )
    # Compressed output is reproducible (no timestamp in the gzip header).
    write_idx(tmp_path / "b.gz", np.arange(4, dtype=np.uint8))
    first = (tmp_path / "b.gz").read_bytes()
    write_idx(tmp_path / "b.gz", np.arange(4, dtype=np.uint8))
    assert (tmp_path / "b.gz").read_bytes() == first


def test_gzip_detected_by_magic_bytes_not_suffix(tmp_path):
    array = np.arange(12, dtype=np.int16).reshape(3, 4)
    compressed_no_suffix = tmp_path / "compressed.idx"
    raw_with_gz_suffix = tmp_path / "raw.gz"
    write_idx(compressed_no_suffix, array, compress=True)
    write_idx(raw_with_gz_suffix, array, compress=False)
    assert compressed_no_suffix.read_bytes()[:2] == b"\x1f\x8b"
    assert raw_with_gz_suffix.read_bytes()[:2] == b"\x00\x00"
    np.testing.assert_array_equal(load_idx(compressed_no_suffix), array)
    np.testing.assert_array_equal(load_idx(raw_with_gz_suffix), array)


def test_write_idx_rejects_unsupported_arrays(tmp_path):
    with pytest.raises(ValueError, match="cannot write dtype int64"):
        write_idx(tmp_path / "x", np.arange(3, dtype=np.int64))
    with pytest.raises(ValueError, match="cannot write dtype bool"):
        write_idx(tmp_path / "x", np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "x", np.uint8(3))


GOOD_HEADER = bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "too short for the 4-byte magic number"),
        (b"\x00\x00", "too short for the 4-byte magic number"),
        (bytes([1, 0, 8, 1, 0, 0, 0, 1, 7]), "bad magic number 01000801"),
        (bytes([0, 5, 8, 1, 0, 0, 0, 1, 7]), "bad magic number"),
        (bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 7]), "unknown element type code 0x0A"),
        (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 7]), "unknown element type code 0x07"),
        (bytes([0, 0, 8, 0]), "declares 0 dimensions"),
        (bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0]), "header truncated"),
        (GOOD_HEADER + bytes(5), r"truncated payload: shape \(2, 3\) .* found 5"),
        (GOOD_HEADER, "truncated payload.*needs 6 bytes.*found 0"),
        (GOOD_HEADER + bytes(7), "over-long payload.*needs 6 bytes.*found 7"),
        (
            bytes([0, 0, 0x0D, 1, 0, 0, 0, 2]) + bytes(7),
            "truncated payload.*float32 needs 8 bytes.*found 7",
        ),
        (
            bytes([0, 0, 0x08, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            "truncated payload",
        ),
        # issue 21 item 19: empty, yet numpy's "array is too big" without the file
        (
            bytes([0, 0, 0x08, 3, 0, 0, 0, 0]) + bytes([0xFF] * 8),
            r"shape \(0, 4294967295, 4294967295\) of uint8 is larger than any array",
        ),
        (
            bytes([0, 0, 0x0E, 4, 0, 0, 0, 0, 0, 0, 0x10, 0]) + bytes([0xFF] * 8),
            "larger than any array numpy can make",
        ),
    ],
)
@pytest.mark.parametrize("compressed", [False, True])
def test_load_idx_rejects_malformed_files(tmp_path, content, message, compressed):
    path = tmp_path / "bad-file.idx"
    path.write_bytes(gzip.compress(content) if compressed else content)
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}: .*{message}"):
        load_idx(path)


def test_load_idx_reads_good_header_with_payload(tmp_path):
    """Control for the malformed cases above: the same header is fine."""
    path = tmp_path / "good.idx"
    path.write_bytes(GOOD_HEADER + bytes(range(6)))
    np.testing.assert_array_equal(load_idx(path), [[0, 1, 2], [3, 4, 5]])
    # an empty array whose other dimensions numpy can hold loads
    path.write_bytes(bytes([0, 0, 0x0E, 2, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]))
    assert load_idx(path).shape == (0, 2**32 - 1)


def test_load_idx_rejects_truncated_gzip(tmp_path):
    good = tmp_path / "good.idx.gz"
    write_idx(good, np.random.default_rng(0).integers(0, 255, (20, 28, 28), np.uint8))
    data = good.read_bytes()
    truncated = tmp_path / "truncated.idx.gz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated.idx.gz: corrupt or truncated gzip"):
        load_idx(truncated)
    # Only the 8-byte trailer (CRC and size) missing.
    no_trailer = tmp_path / "no-trailer.idx.gz"
    no_trailer.write_bytes(data[:-8])
    with pytest.raises(
        ValueError, match="no-trailer.idx.gz: corrupt or truncated gzip"
    ):
        load_idx(no_trailer)
    corrupt = tmp_path / "corrupt.idx.gz"
    corrupt.write_bytes(data[:-8] + bytes(8))
    with pytest.raises(ValueError, match="corrupt.idx.gz: corrupt or truncated gzip"):
        load_idx(corrupt)


def test_load_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "nope.idx")


# --------------------------------------------------------------------------
# Fetchers: contents and options
# --------------------------------------------------------------------------


def test_fetch_returns_bunch(tmp_path):
    arrays = make_fake(tmp_path / "data")
    bunch = fetch_fashion_mnist(tmp_path / "data", download_if_missing=False)
    assert isinstance(bunch, Bunch)
    assert_loaded(bunch, arrays, "train")
    assert bunch.data.shape == (N_TRAIN, 784)
    assert bunch.data.dtype == np.uint8
    assert bunch.images.shape == (N_TRAIN, 28, 28)
    assert bunch.images.dtype == np.uint8
    assert bunch.target.dtype == np.int64
    assert bunch.target.shape == (N_TRAIN,)
    np.testing.assert_array_equal(bunch.data, arrays["train"][0].reshape(N_TRAIN, -1))
    assert bunch.frame is None
    assert bunch.feature_names == [f"pixel_{i}" for i in range(784)]
    assert list(bunch.target_names) == [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
    assert bunch.target_names[bunch.target].shape == (N_TRAIN,)
    assert "Fashion-MNIST" in bunch.DESCR
    assert f"({N_TRAIN}, 784)" in bunch.DESCR


def test_fetch_mnist_target_names(tmp_path):
    make_fake(tmp_path / "mnist")
    bunch = fetch_mnist(tmp_path, download_if_missing=False)
    assert list(bunch.target_names) == [str(i) for i in range(10)]
    assert bunch.DESCR.startswith("MNIST")


@pytest.mark.parametrize("fetch", [fetch_fashion_mnist, fetch_mnist])
def test_subsets(tmp_path, fetch):
    arrays = make_fake(tmp_path)
    train = fetch(tmp_path, subset="train", download_if_missing=False)
    test = fetch(tmp_path, subset="test", download_if_missing=False)
    both = fetch(tmp_path, subset="all", download_if_missing=False)
    assert_loaded(train, arrays, "train")
    assert_loaded(test, arrays, "test")
    assert both.data.shape == (N_TRAIN + N_TEST, 784)
    np.testing.assert_array_equal(both.images[:N_TRAIN], arrays["train"][0])
    np.testing.assert_array_equal(both.images[N_TRAIN:], arrays["test"][0])
    np.testing.assert_array_equal(
        both.target, np.concatenate([arrays["train"][1], arrays["test"][1]])
    )
    with pytest.raises(ValueError, match="subset must be one of"):
        fetch(tmp_path, subset="validation")


def test_return_X_y(tmp_path):
    arrays = make_fake(tmp_path)
    X, y = fetch_fashion_mnist(
        tmp_path, subset="test", return_X_y=True, download_if_missing=False
    )
    assert X.shape == (N_TEST, 784) and X.dtype == np.uint8
    assert y.dtype == np.int64
    np.testing.assert_array_equal(X, arrays["test"][0].reshape(N_TEST, 784))
    np.testing.assert_array_equal(y, arrays["test"][1])


def test_as_frame(tmp_path):
    pd = pytest.importorskip("pandas")
    arrays = make_fake(tmp_path)
    bunch = fetch_fashion_mnist(tmp_path, as_frame=True, download_if_missing=False)
    assert isinstance(bunch.data, pd.DataFrame)
    assert bunch.data.shape == (N_TRAIN, 784)
    assert list(bunch.data.columns) == bunch.feature_names
    assert (bunch.data.dtypes == np.uint8).all()
    assert isinstance(bunch.target, pd.Series)
    assert bunch.target.name == "target"
    assert bunch.target.dtype == np.int64
    assert bunch.frame.shape == (N_TRAIN, 785)
    assert list(bunch.frame.columns) == bunch.feature_names + ["target"]
    np.testing.assert_array_equal(bunch.data.to_numpy(), bunch.images.reshape(-1, 784))
    np.testing.assert_array_equal(bunch.target.to_numpy(), arrays["train"][1])
    X, y = fetch_fashion_mnist(
        tmp_path, as_frame=True, return_X_y=True, download_if_missing=False
    )
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)


def test_as_frame_without_pandas(tmp_path, monkeypatch):
    make_fake(tmp_path)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="as_frame=True requires pandas"):
        fetch_fashion_mnist(tmp_path, as_frame=True, download_if_missing=False)


def test_uncompressed_files_accepted(tmp_path):
    arrays = make_fake(tmp_path, gz=False)
    assert not list(tmp_path.glob("*.gz"))
    assert_loaded(fetch_mnist(tmp_path, download_if_missing=False), arrays)


# --------------------------------------------------------------------------
# Fetchers: where the files are looked for
# --------------------------------------------------------------------------


def test_search_order(tmp_path, monkeypatch):
    home = make_fake(tmp_path / "home", seed=1)
    env = make_fake(tmp_path / "env" / "fashion-mnist", seed=2)
    cache = make_fake(cache_dir(tmp_path), seed=3)
    system = make_fake(tmp_path / "system", seed=4)
    monkeypatch.setenv("SKNUMPYNET_DATA", str(tmp_path / "env"))
    monkeypatch.setitem(
        datasets.SYSTEM_DATA_DIRS, "fashion-mnist", [str(tmp_path / "system")]
    )

    def fetch(data_home=None):
        return fetch_fashion_mnist(data_home, download_if_missing=False)

    assert_loaded(fetch(tmp_path / "home"), home)
    assert_loaded(fetch(), env)
    monkeypatch.delenv("SKNUMPYNET_DATA")
    assert_loaded(fetch(), cache)
    (cache_dir(tmp_path) / "train-labels-idx1-ubyte.gz").unlink()
    assert_loaded(fetch(), system)
    # The system folders are per data set.
    with pytest.raises(FileNotFoundError):
        fetch_mnist(download_if_missing=False)


def test_env_var_folder_holding_files_directly(tmp_path, monkeypatch):
    arrays = make_fake(tmp_path / "flat", seed=5)
    monkeypatch.setenv("SKNUMPYNET_DATA", str(tmp_path / "flat"))
    assert_loaded(fetch_fashion_mnist(download_if_missing=False), arrays)


def test_named_sub_folder_preferred_over_files_directly(tmp_path):
    flat = make_fake(tmp_path, seed=1)
    fashion = make_fake(tmp_path / "fashion-mnist", seed=2)
    mnist = make_fake(tmp_path / "mnist", seed=3)
    assert_loaded(fetch_fashion_mnist(tmp_path, download_if_missing=False), fashion)
    assert_loaded(fetch_mnist(tmp_path, download_if_missing=False), mnist)
    assert_loaded(
        fetch_mnist(str(tmp_path / "mnist"), download_if_missing=False), mnist
    )
    for stem in STEMS["train"]:
        (tmp_path / "mnist" / f"{stem}.gz").unlink()
    assert_loaded(fetch_mnist(tmp_path, download_if_missing=False), flat)


def test_files_of_the_other_data_set_rejected(tmp_path, monkeypatch):
    """MNIST and Fashion-MNIST share file names: a mix-up must not pass."""
    make_fake(tmp_path / "flat", seed=1)
    labels = tmp_path / "flat" / "train-labels-idx1-ubyte.gz"
    digest = hashlib.sha256(labels.read_bytes()).hexdigest()
    monkeypatch.setitem(
        datasets.SHA256["fashion-mnist"], "train-labels-idx1-ubyte.gz", digest
    )
    assert fetch_fashion_mnist(tmp_path / "flat", download_if_missing=False)
    with pytest.raises(ValueError, match=f"{re.escape(str(labels))} is the Fashion"):
        fetch_mnist(tmp_path / "flat", download_if_missing=False)
    assert fetch_mnist(tmp_path / "flat", subset="test", download_if_missing=False)


def test_folder_missing_a_file_is_skipped(tmp_path, monkeypatch):
    partial = make_fake(tmp_path / "home", seed=1, parts=("train",))
    env = make_fake(tmp_path / "env", seed=2)
    monkeypatch.setenv("SKNUMPYNET_DATA", str(tmp_path / "env"))
    assert_loaded(fetch_fashion_mnist(tmp_path / "home"), partial, "train")
    assert_loaded(fetch_fashion_mnist(tmp_path / "home", subset="test"), env, "test")
    both = fetch_fashion_mnist(tmp_path / "home", subset="all")
    np.testing.assert_array_equal(both.images[:N_TRAIN], env["train"][0])
    # Images without labels do not count either.
    (tmp_path / "env" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="not found"):
        fetch_fashion_mnist(tmp_path / "home", subset="test", download_if_missing=False)


def test_not_found_message(tmp_path, monkeypatch):
    monkeypatch.setenv("SKNUMPYNET_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as info:
        fetch_fashion_mnist(tmp_path / "home", download_if_missing=False)
    message = str(info.value)
    assert "download_if_missing=False" in message
    assert "data_home=" in message
    assert "SKNUMPYNET_DATA" in message
    assert str(cache_dir(tmp_path)) in message
    assert "apt-get install dataset-fashion-mnist" in message
    for searched in ("home", "home/fashion-mnist", "env", "env/fashion-mnist"):
        assert str(tmp_path / searched) in message
    assert not cache_dir(tmp_path).exists()  # nothing created when not downloading
    with pytest.raises(FileNotFoundError) as info:
        fetch_mnist(download_if_missing=False)
    assert "apt-get" not in str(info.value)
    assert str(cache_dir(tmp_path, "mnist")) in str(info.value)


# --------------------------------------------------------------------------
# Fetchers: checks on the files found
# --------------------------------------------------------------------------


def test_counts_checked_against_expected(tmp_path, monkeypatch):
    make_fake(tmp_path)
    monkeypatch.setitem(datasets.EXPECTED_N_SAMPLES, "train", N_TRAIN + 1)
    with pytest.raises(ValueError, match=f"hold {N_TRAIN} samples, expected 7"):
        fetch_fashion_mnist(tmp_path, download_if_missing=False)
    assert fetch_fashion_mnist(tmp_path, subset="test", download_if_missing=False)


def test_real_counts_are_the_published_ones():
    assert ORIGINAL_COUNTS == {"train": 60_000, "test": 10_000}


def test_images_and_labels_must_agree(tmp_path):
    make_fake(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(N_TRAIN - 1, np.uint8))
    with pytest.raises(ValueError, match=f"holds {N_TRAIN} images but .* holds 5"):
        fetch_fashion_mnist(tmp_path, download_if_missing=False)


@pytest.mark.parametrize(
    ("stem", "array", "message"),
    [
        (
            "train-labels-idx1-ubyte",
            np.full(N_TRAIN, 10, np.uint8),
            "train-labels-idx1-ubyte.gz: labels must be in 0..9, found 10",
        ),
        (
            "train-labels-idx1-ubyte",
            np.zeros(N_TRAIN, np.int32),
            r"train-labels-idx1-ubyte.gz: expected uint8 labels of shape \(n,\)",
        ),
        (
            "train-images-idx3-ubyte",
            np.zeros((N_TRAIN, 27, 28), np.uint8),
            r"train-images-idx3-ubyte.gz: expected uint8 images .* \(6, 27, 28\)",
        ),
        (
            "train-images-idx3-ubyte",
            np.zeros((N_TRAIN, 784), np.uint8),
            r"expected uint8 images of shape \(n, 28, 28\)",
        ),
        (
            "train-images-idx3-ubyte",
            np.zeros((N_TRAIN, 28, 28), np.float32),
            "expected uint8 images.*float32",
        ),
    ],
)
def test_bad_local_files_rejected(tmp_path, stem, array, message):
    make_fake(tmp_path)
    write_idx(tmp_path / f"{stem}.gz", array)
    with pytest.raises(ValueError, match=message):
        fetch_fashion_mnist(tmp_path, download_if_missing=False)


def test_corrupt_local_file_rejected(tmp_path):
    make_fake(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz: corrupt or trunc"):
        fetch_mnist(tmp_path, subset="test", download_if_missing=False)


# --------------------------------------------------------------------------
# Downloads from a local HTTP server
# --------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serve ``server.routes``: path -> (body, mode).

    ``mode`` is ``"ok"``, ``"drop"`` to announce the full Content-Length,
    send half of the body and close the connection, or ``"no-length"`` to
    send no Content-Length at all (the body ends when the connection
    closes).  ``server.sent`` records how many body bytes each path got out
    before the client hung up.  Unknown paths get 404.
    """

    def do_GET(self):  # noqa: N802 (name fixed by BaseHTTPRequestHandler)
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        body, mode = route
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if mode != "no-length":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "no-length":
            self.close_connection = True
            sent = 0
            try:
                for start in range(0, len(body), 1 << 16):
                    self.wfile.write(body[start : start + (1 << 16)])
                    self.wfile.flush()
                    sent += len(body[start : start + (1 << 16)])
            except OSError:  # the client stopped reading
                pass
            self.server.sent[self.path] = sent
        elif mode == "drop":
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        else:
            self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 (signature of the base)
        pass


@pytest.fixture
def server():
    """A threaded HTTP server on 127.0.0.1, shut down after the test."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.routes = {}
    httpd.requests = []
    httpd.sent = {}
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def served(tmp_path, server, monkeypatch):
    """Fake Fashion-MNIST files served at ``/fm/`` with matching checksums.

    Returns ``(server, arrays, bodies)``, ``bodies`` mapping file names to
    their gzip bytes.
    """
    source = tmp_path / "source"
    arrays = make_fake(source, seed=7)
    bodies = {name: (source / name).read_bytes() for name in ALL_GZ}
    for name, body in bodies.items():
        server.routes[f"/fm/{name}"] = (body, "ok")
    monkeypatch.setitem(datasets.MIRRORS, "fashion-mnist", [f"{server.url}/fm/"])
    monkeypatch.setitem(
        datasets.SHA256,
        "fashion-mnist",
        {name: hashlib.sha256(body).hexdigest() for name, body in bodies.items()},
    )
    return server, arrays, bodies


def test_download_good_files(tmp_path, served):
    server, arrays, bodies = served
    bunch = fetch_fashion_mnist(subset="train")
    assert_loaded(bunch, arrays, "train")
    dest = cache_dir(tmp_path)
    assert list_files(dest) == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]
    for name in list_files(dest):
        assert (dest / name).read_bytes() == bodies[name]
    assert sorted(server.requests) == [
        "/fm/train-images-idx3-ubyte.gz",
        "/fm/train-labels-idx1-ubyte.gz",
    ]
    # Second call: served from the cache, no request.
    assert_loaded(fetch_fashion_mnist(subset="train"), arrays, "train")
    assert len(server.requests) == 2
    # "all" only downloads what is missing.
    both = fetch_fashion_mnist(subset="all")
    assert both.data.shape == (N_TRAIN + N_TEST, 784)
    assert len(server.requests) == 4
    assert list_files(dest) == sorted(ALL_GZ)
    fetch_fashion_mnist(subset="test")
    assert len(server.requests) == 4


def test_download_into_data_home(tmp_path, served):
    server, arrays, _ = served
    home = tmp_path / "new" / "home"
    assert_loaded(fetch_fashion_mnist(home, subset="test"), arrays, "test")
    assert list_files(home / "fashion-mnist") == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    assert not cache_dir(tmp_path).exists()
    fetch_fashion_mnist(home, subset="test", download_if_missing=False)
    assert len(server.requests) == 2


def test_download_not_attempted_when_disabled(served):
    server, _, _ = served
    with pytest.raises(FileNotFoundError):
        fetch_fashion_mnist(download_if_missing=False)
    assert server.requests == []


def test_download_falls_back_to_next_mirror(tmp_path, server, monkeypatch):
    arrays = make_fake(tmp_path / "source", seed=8)
    checksums = {}
    for name in ALL_GZ:
        body = (tmp_path / "source" / name).read_bytes()
        server.routes[f"/second/{name}"] = (body, "ok")
        checksums[name] = hashlib.sha256(body).hexdigest()
    monkeypatch.setitem(datasets.SHA256, "mnist", checksums)
    monkeypatch.setitem(
        datasets.MIRRORS, "mnist", [f"{server.url}/first/", f"{server.url}/second/"]
    )
    assert_loaded(fetch_mnist(subset="test"), arrays, "test")
    assert server.requests == [
        "/first/t10k-images-idx3-ubyte.gz",
        "/second/t10k-images-idx3-ubyte.gz",
        "/first/t10k-labels-idx1-ubyte.gz",
        "/second/t10k-labels-idx1-ubyte.gz",
    ]
    assert list_files(cache_dir(tmp_path, "mnist")) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]


def test_download_wrong_checksum(tmp_path, served, monkeypatch):
    server, _, bodies = served
    wrong = "0" * 64
    name = "train-images-idx3-ubyte.gz"
    monkeypatch.setitem(datasets.SHA256["fashion-mnist"], name, wrong)
    with pytest.raises(DownloadError) as info:
        fetch_fashion_mnist()
    message = str(info.value)
    assert isinstance(info.value, OSError)
    assert f"{server.url}/fm/{name}: SHA-256 mismatch" in message
    assert (
        f"expected {wrong}, got {hashlib.sha256(bodies[name]).hexdigest()}" in message
    )
    assert list_files(cache_dir(tmp_path)) == []  # no file, no .part


def test_download_wrong_checksum_second_file(tmp_path, served, monkeypatch):
    """A verified first file stays; the failed second one leaves nothing."""
    monkeypatch.setitem(
        datasets.SHA256["fashion-mnist"], "train-labels-idx1-ubyte.gz", "f" * 64
    )
    with pytest.raises(DownloadError, match="SHA-256 mismatch"):
        fetch_fashion_mnist()
    assert list_files(cache_dir(tmp_path)) == ["train-images-idx3-ubyte.gz"]


def test_download_connection_dropped(tmp_path, served):
    server, _, bodies = served
    name = "train-labels-idx1-ubyte.gz"
    server.routes[f"/fm/{name}"] = (bodies[name], "drop")
    size = len(bodies[name])
    with pytest.raises(DownloadError) as info:
        fetch_fashion_mnist(tmp_path / "home")
    message = str(info.value)
    assert (
        f"{server.url}/fm/{name}: connection closed early: expected {size} bytes "
        f"(Content-Length), got {size // 2}"
    ) in message
    assert list_files(tmp_path / "home" / "fashion-mnist") == [
        "train-images-idx3-ubyte.gz"
    ]


def test_download_http_error(tmp_path, served):
    server, _, _ = served
    server.routes.clear()
    with pytest.raises(DownloadError, match=r"/fm/train-images-idx3-ubyte.gz: .*404"):
        fetch_fashion_mnist()
    assert list_files(cache_dir(tmp_path)) == []


@pytest.mark.parametrize("fetch", [fetch_fashion_mnist, fetch_mnist])
def test_download_no_server(tmp_path, fetch):
    url = datasets.MIRRORS["mnist"][0]  # the closed port set by ``isolated``
    assert url.startswith("http://127.0.0.1:")
    name = "fashion-mnist" if fetch is fetch_fashion_mnist else "mnist"
    with pytest.raises(DownloadError) as info:
        fetch(subset="test")
    message = str(info.value)
    assert f"{url}t10k-images-idx3-ubyte.gz: URLError" in message
    assert "Could not download t10k-images-idx3-ubyte.gz" in message
    assert "data_home=" in message
    assert "SKNUMPYNET_DATA" in message
    assert str(cache_dir(tmp_path, name)) in message
    assert ("apt-get install dataset-fashion-mnist" in message) == (
        name == "fashion-mnist"
    )
    assert list_files(cache_dir(tmp_path, name)) == []


# --------------------------------------------------------------------------
# Bounded decompression and downloads (issue 14, item 7)
# --------------------------------------------------------------------------


def gzip_bomb(path, header, n_zeros):
    """Write ``header`` then ``n_zeros`` zero bytes, gzip-compressed, in chunks."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    chunk = bytes(1 << 20)
    with open(path, "wb") as f:
        f.write(compressor.compress(header))
        for start in range(0, n_zeros, len(chunk)):
            f.write(compressor.compress(chunk[: n_zeros - start]))
        f.write(compressor.flush())


def peak_memory(function, *args, **kwargs):
    """Return the peak bytes traced while ``function`` raises ValueError, and the error."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            function(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1], info.value
    finally:
        tracemalloc.stop()


def idx_header(code, shape):
    return bytes([0, 0, code, len(shape)]) + np.asarray(shape, ">u4").tobytes()


def test_gzip_bomb_with_honest_header_refused_before_decompressing(tmp_path):
    """The header promises 48 MiB where 4.7 KB are expected: nothing is expanded."""
    make_fake(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    gzip_bomb(path, idx_header(0x08, (60_000, 28, 28)), 60_000 * 784)
    assert path.stat().st_size < 100_000
    peak, error = peak_memory(fetch_fashion_mnist, tmp_path, download_if_missing=False)
    assert str(path) in str(error)
    assert "promises shape (60000, 28, 28) of uint8, 47040016 bytes" in str(error)
    assert "more than the 37760 bytes this file may hold" in str(error)
    assert peak < 2 << 20, peak


def test_gzip_bomb_behind_a_small_header_stops_at_the_promised_size(tmp_path):
    """A right header, then 64 MiB of zeros: read no further than the header says."""
    make_fake(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    gzip_bomb(path, idx_header(0x08, (N_TRAIN, 28, 28)), N_TRAIN * 784 + (64 << 20))
    peak, error = peak_memory(fetch_fashion_mnist, tmp_path, download_if_missing=False)
    assert re.search(
        f"{re.escape(str(path))}: not a valid IDX file: over-long payload: "
        r"shape \(6, 28, 28\) of uint8 needs 4704 bytes .* found more than 1053280",
        str(error),
    ), error
    assert peak < 8 << 20, peak


def test_load_idx_max_bytes(tmp_path):
    path = tmp_path / "small.idx.gz"
    write_idx(path, np.zeros((3, 4), np.int16))
    np.testing.assert_array_equal(load_idx(path, max_bytes=12 + 24), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="small.idx.gz: the IDX header promises shape"):
        load_idx(path, max_bytes=12 + 23)


def test_load_idx_header_beyond_what_deflate_can_hold(tmp_path):
    """Without max_bytes, a 40-byte gzip file promising 1 TiB is refused unread."""
    path = tmp_path / "liar.idx.gz"
    path.write_bytes(gzip.compress(idx_header(0x08, (2**20, 2**20)) + bytes(10)))
    peak, error = peak_memory(load_idx, path)
    assert f"{path}: not a valid IDX file: truncated payload" in str(error)
    assert peak < 1 << 20


def test_load_idx_memory_error_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "_MAX_DEFLATE_RATIO", 2**62)
    path = tmp_path / "huge.idx.gz"
    path.write_bytes(gzip.compress(idx_header(0x0E, (2**31, 2**28))))
    with pytest.raises(MemoryError, match=f"{re.escape(str(path))}: not enough memory"):
        load_idx(path)


def test_write_idx_leaves_nothing_half_written(tmp_path, monkeypatch):
    path = tmp_path / "a.idx.gz"
    write_idx(path, np.arange(10, dtype=np.uint8))
    before = path.read_bytes()

    def failing_write(self, data):
        raise OSError("disk full")

    monkeypatch.setattr(gzip.GzipFile, "write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        write_idx(path, np.arange(20, dtype=np.uint8))
    assert path.read_bytes() == before
    assert list_files(tmp_path) == ["a.idx.gz"]


def test_download_without_content_length_is_capped(tmp_path, served):
    """A mirror streaming 8 MiB with no Content-Length is cut off at the cap."""
    server, _, _ = served
    name = "train-images-idx3-ubyte.gz"
    server.routes[f"/fm/{name}"] = (bytes(8 << 20), "no-length")
    cap = 16 + N_TRAIN * 784
    cap += cap // 1000 + 1024
    with pytest.raises(DownloadError) as info:
        fetch_fashion_mnist()
    assert f"{server.url}/fm/{name}: the server sent more than {cap} bytes" in str(info.value)
    assert list_files(cache_dir(tmp_path)) == []


def test_download_without_content_length_of_a_good_file(tmp_path, served):
    server, arrays, bodies = served
    for name, body in bodies.items():
        server.routes[f"/fm/{name}"] = (body, "no-length")
    assert_loaded(fetch_fashion_mnist(), arrays, "train")
    assert list_files(cache_dir(tmp_path)) == ALL_GZ[:2]


def test_download_content_length_above_the_cap_is_not_read(tmp_path, served):
    server, _, _ = served
    name = "train-images-idx3-ubyte.gz"
    server.routes[f"/fm/{name}"] = (bytes(1 << 20), "ok")
    with pytest.raises(DownloadError, match=f"/fm/{name}: Content-Length 1048576 is more"):
        fetch_fashion_mnist()
    assert list_files(cache_dir(tmp_path)) == []


# --------------------------------------------------------------------------
# Module constants and the real Fashion-MNIST files
# --------------------------------------------------------------------------


def test_constants():
    assert set(ORIGINAL_SHA256) == {"fashion-mnist", "mnist"}
    for table in ORIGINAL_SHA256.values():
        assert sorted(table) == sorted(ALL_GZ)
        assert all(re.fullmatch("[0-9a-f]{64}", value) for value in table.values())
    assert ORIGINAL_SHA256["mnist"]["train-images-idx3-ubyte.gz"] == (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    )


def _real_fashion_dir():
    env = os.environ.get("SKNUMPYNET_TEST_FASHION_MNIST")
    if env:
        return Path(env)
    default = REPO_ROOT.parent / "shared" / "data" / "fashion-mnist"
    return default if default.is_dir() else None


def test_real_fashion_mnist(monkeypatch):
    folder = _real_fashion_dir()
    if folder is None:
        pytest.skip(
            "real Fashion-MNIST files not found; set SKNUMPYNET_TEST_FASHION_MNIST"
        )
    for name, expected in ORIGINAL_SHA256["fashion-mnist"].items():
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert digest == expected, name
    monkeypatch.setattr(datasets, "EXPECTED_N_SAMPLES", ORIGINAL_COUNTS)
    train = fetch_fashion_mnist(folder, download_if_missing=False)
    test = fetch_fashion_mnist(folder, subset="test", download_if_missing=False)
    for bunch, n in ((train, 60_000), (test, 10_000)):
        assert bunch.data.shape == (n, 784)
        assert bunch.data.dtype == np.uint8
        assert bunch.images.shape == (n, 28, 28)
        assert bunch.target.shape == (n,)
        np.testing.assert_array_equal(np.bincount(bunch.target), [n // 10] * 10)
        assert bunch.data.max() == 255 and bunch.data.min() == 0
    assert len(train.target_names) == 10
    with pytest.raises(ValueError, match="is the Fashion-MNIST file"):
        fetch_mnist(folder, subset="test", download_if_missing=False)
    # The first training image is an ankle boot (class 9).
    assert train.target_names[train.target[0]] == "Ankle boot"
