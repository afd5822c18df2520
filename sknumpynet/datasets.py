"""Loaders for the MNIST and Fashion-MNIST image data sets.

This module reads the IDX file format used by both data sets
(:func:`load_idx`, :func:`write_idx`) and provides two fetchers in the style
of :mod:`sklearn.datasets`: :func:`fetch_fashion_mnist` and
:func:`fetch_mnist`.

Where the fetchers look for the four files (``train-images-idx3-ubyte.gz``,
``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` and
``t10k-labels-idx1-ubyte.gz``, each also accepted without ``.gz``), in order:

1. the ``data_home`` argument: a ``<name>`` sub-folder of it (``mnist`` or
   ``fashion-mnist``), then the folder itself;
2. the folder named by the ``SKNUMPYNET_DATA`` environment variable, with the
   same rule;
3. the cache folder ``<sklearn.datasets.get_data_home()>/sknumpynet/<name>``;
4. the system folders in :data:`SYSTEM_DATA_DIRS` (for Fashion-MNIST, the
   folder filled by Debian's ``apt-get install dataset-fashion-mnist``).

The first folder holding every file the requested subset needs is used.
Files found this way are checked for a valid IDX structure and the expected
shapes, sample counts (:data:`EXPECTED_N_SAMPLES`) and label range, and
compressed label files are hashed to make sure they are not those of the
other data set (both use the same file names).  When no folder qualifies and
``download_if_missing=True``, the missing files are downloaded from
:data:`MIRRORS` into ``<data_home>/<name>`` (if ``data_home`` was given) or
into the cache folder, and each downloaded file is verified against the
SHA-256 checksums in :data:`SHA256` before it is moved into place.  Download
failures raise :class:`DownloadError`, an :class:`OSError`.

The module-level constants :data:`MIRRORS`, :data:`SHA256`,
:data:`SYSTEM_DATA_DIRS` and :data:`EXPECTED_N_SAMPLES` are read at call time,
so they can be changed (for example, monkeypatched in tests).
"""

import gzip
import hashlib
import http.client
import logging
import math
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np
from sklearn.datasets import get_data_home
from sklearn.utils import Bunch

__all__ = [
    "DownloadError",
    "fetch_fashion_mnist",
    "fetch_mnist",
    "load_idx",
    "write_idx",
]

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Module-level configuration, read at call time.
# --------------------------------------------------------------------------

#: Base URLs tried in order for each data set; a file's URL is base + name.
MIRRORS = {
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
}

#: SHA-256 checksums of the canonical ``.gz`` files, verified on download.
SHA256 = {
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": (
            "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"
        ),
        "train-labels-idx1-ubyte.gz": (
            "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"
        ),
        "t10k-images-idx3-ubyte.gz": (
            "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"
        ),
    },
    "mnist": {
        "train-images-idx3-ubyte.gz": (
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
        ),
        "train-labels-idx1-ubyte.gz": (
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
        ),
        "t10k-images-idx3-ubyte.gz": (
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaaeb6f2db2f3c2b8d"
        ),
    },
}

#: System folders searched last (read-only, never written to).
SYSTEM_DATA_DIRS = {
    "fashion-mnist": ["/usr/share/datasets/fashion-mnist"],
    "mnist": [],
}

#: Number of samples each file pair must hold (both data sets share them).
EXPECTED_N_SAMPLES = {"train": 60_000, "test": 10_000}

#: Seconds to wait for a mirror to answer before giving up on it.
DOWNLOAD_TIMEOUT = 60.0

#: Environment variable naming a folder that holds the data files.
ENV_VAR = "SKNUMPYNET_DATA"

_FILE_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_SUBSETS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}
_IMAGE_SHAPE = (28, 28)
_N_CLASSES = 10

_TITLES = {"fashion-mnist": "Fashion-MNIST", "mnist": "MNIST"}
_TARGET_NAMES = {
    "fashion-mnist": [
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
    ],
    "mnist": [str(i) for i in range(10)],
}
_DESCR = {
    "fashion-mnist": """\
Fashion-MNIST
-------------

Zalando's article images: 28x28 grayscale images of clothing items in 10
classes, 60,000 training and 10,000 test samples, 6,000 / 1,000 per class.
It is a drop-in replacement for MNIST with the same format and split.

Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.

Source: https://github.com/zalandoresearch/fashion-mnist
License: MIT (Copyright 2017 Zalando SE).

Reference: Han Xiao, Kashif Rasul, Roland Vollgraf. Fashion-MNIST: a Novel
Image Dataset for Benchmarking Machine Learning Algorithms. arXiv:1708.07747.
""",
    "mnist": """\
MNIST
-----

Handwritten digits 0-9: 28x28 grayscale images, 60,000 training and 10,000
test samples, size-normalized and centered.

Source: http://yann.lecun.com/exdb/mnist/ (files fetched from mirrors).
Copyright Yann LeCun and Corinna Cortes; distributed under CC BY-SA 3.0 (as
stated in the Keras documentation).

Reference: Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-based
learning applied to document recognition. Proc. IEEE 86(11), 1998.
""",
}
_DESCR_DATA = """
Data layout
-----------

subset: {subset!r} ({n} samples)
data: uint8 array of shape ({n}, 784) (or DataFrame), pixel values 0-255,
    row-major flattened images (scale them yourself, e.g. ``X / 255.0``).
images: uint8 array of shape ({n}, 28, 28).
target: int64 array of shape ({n},) (or Series), class indices 0-9.
"""

# IDX element type code -> big-endian numpy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
# Deflate expands at most about 1032:1, so a gzip file of n bytes cannot hold
# more than this many times n: a header promising more is a truncated file.
_MAX_DEFLATE_RATIO = 1032
_CHUNK = 1 << 20


class DownloadError(OSError):
    """A data file could not be downloaded and verified.

    Raised by :func:`fetch_fashion_mnist` and :func:`fetch_mnist` when every
    mirror failed for a file: HTTP error, unreachable host, connection closed
    before ``Content-Length`` bytes arrived, or SHA-256 mismatch.  The message
    names each URL tried with what went wrong, and the ways to provide the
    files by hand.  It is a subclass of :class:`OSError`.
    """


# --------------------------------------------------------------------------
# IDX format
# --------------------------------------------------------------------------


def load_idx(path, *, max_bytes=None):
    """Read an array from an IDX file, gzip-compressed or not.

    The IDX format is a 4-byte magic number (two zero bytes, an element type
    code and the number of dimensions), one big-endian ``uint32`` per
    dimension, then the elements in C order, big-endian.  Gzip compression is
    detected from the file's first two bytes (``1f 8b``), whatever its name.

    The file is read as a stream: the header first, then exactly the payload
    it promises, in bounded chunks.  A header promising more than
    ``max_bytes`` (or, for a gzip file, more than deflate could ever expand
    the file to; for a raw file, more than the file holds) is refused before
    anything is allocated, so a gzip bomb never expands in memory.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    max_bytes : int or None, default=None
        The largest decompressed size (header and payload) accepted.  None
        bounds it by the file's own size only, as described above.

    Returns
    -------
    array : numpy.ndarray
        A new writable array in native byte order whose shape is the
        dimensions stored in the file and whose dtype follows the type code:
        ``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32,
        ``0x0D`` float32, ``0x0E`` float64.

    Raises
    ------
    ValueError
        If the file is not a valid IDX file: bad magic number, unknown type
        code, zero dimensions, header cut short, payload shorter or longer
        than the product of the dimensions times the element size, a header
        promising more than ``max_bytes``, or a corrupt or truncated gzip
        stream.  The message names the file.
    MemoryError
        If the array the header promises cannot be allocated; the message
        names the file and the size.
    OSError
        If the file cannot be opened or read.
    """
    path = Path(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        file_size = os.fstat(raw.fileno()).st_size
        if not compressed:
            return _read_idx_stream(path, raw, max_bytes, file_size, exact=True)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                bound = _MAX_DEFLATE_RATIO * file_size + 1024
                return _read_idx_stream(path, stream, max_bytes, bound, exact=False)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise ValueError(
                f"{path}: corrupt or truncated gzip stream ({exc})"
            ) from exc


def _read_idx_stream(path, stream, max_bytes, bound, exact):
    """Read one IDX array from ``stream``, never more than its header promises.

    ``bound`` is the most bytes the stream can hold (the file size when
    ``exact``, else the most its compressed size can expand to).
    """
    prefix = f"{path}: not a valid IDX file"
    magic = stream.read(4)
    if len(magic) < 4:
        raise ValueError(
            f"{prefix}: {len(magic)} bytes, too short for the 4-byte magic number"
        )
    if magic[0] != 0 or magic[1] != 0:
        raise ValueError(
            f"{prefix}: bad magic number {magic.hex()} "
            "(the first two bytes must be zero)"
        )
    code, ndim = magic[2], magic[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(
            f"{prefix}: unknown element type code 0x{code:02X} (expected one of "
            f"{known})"
        )
    if ndim == 0:
        raise ValueError(f"{prefix}: the magic number declares 0 dimensions")
    header_size = 4 + 4 * ndim
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(
            f"{prefix}: header truncated: {ndim} dimensions need {header_size} "
            f"bytes, the file holds {4 + len(dims)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(dims, ">u4"))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    if max_bytes is not None and header_size + expected > max_bytes:
        raise ValueError(
            f"{path}: the IDX header promises shape {shape} of {dtype.name}, "
            f"{header_size + expected} bytes, more than the {max_bytes} bytes "
            "this file may hold; refusing to decompress it"
        )
    if header_size + expected > bound:
        found = bound - header_size if exact else "less"
        raise ValueError(
            f"{prefix}: truncated payload: shape {shape} of {dtype.name} needs "
            f"{expected} bytes after the {header_size}-byte header, found {found}"
        )
    # a zero dimension passes the size checks above, but numpy refuses a shape
    # whose other dimensions multiply beyond its index range
    if math.prod(d for d in shape if d) * dtype.itemsize > np.iinfo(np.intp).max:
        raise ValueError(
            f"{prefix}: the header's shape {shape} of {dtype.name} is larger than any "
            "array numpy can make"
        )
    payload = _read_payload(path, stream, expected)
    found = len(payload)
    if found == expected:
        found = _count_extra(stream, expected)
    if found != expected:
        what = "truncated" if isinstance(found, int) and found < expected else "over-long"
        raise ValueError(
            f"{prefix}: {what} payload: shape {shape} of {dtype.name} needs "
            f"{expected} bytes after the {header_size}-byte header, found {found}"
        )
    array = np.frombuffer(payload, dtype).reshape(shape)
    # A native-order copy; single-byte types keep the (writable) buffer itself.
    return array.astype(dtype.newbyteorder("="), copy=False)


def _count_extra(stream, n_read):
    """Return ``n_read`` plus the bytes left in ``stream``, reading few of them.

    Past ``_CHUNK`` extra bytes it returns the string ``"more than N"``, so
    that junk after the payload is reported without being expanded.
    """
    extra = len(stream.read(_CHUNK))
    if extra == _CHUNK and stream.read(1):
        return f"more than {n_read + _CHUNK}"
    return n_read + extra


def _read_payload(path, stream, n_bytes):
    """Read up to ``n_bytes`` from ``stream`` into a new buffer, in chunks."""
    try:
        buffer = bytearray(n_bytes)
    except MemoryError as exc:
        raise MemoryError(
            f"{path}: not enough memory for the {n_bytes}-byte payload its IDX "
            "header promises"
        ) from exc
    view = memoryview(buffer)
    filled = 0
    while filled < n_bytes:
        chunk = stream.read(min(_CHUNK, n_bytes - filled))
        if not chunk:
            break
        view[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
    view.release()
    return buffer if filled == n_bytes else buffer[:filled]


def write_idx(path, array, *, compress=None):
    """Write an array to an IDX file, the inverse of :func:`load_idx`.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (overwritten if it exists).
    array : array-like of shape (d0, d1, ...)
        The data, with 1 to 255 dimensions each below ``2**32``, and a dtype
        of uint8, int8, int16, int32, float32 or float64 (in any byte order).
        Other dtypes, for example int64, must be cast first.
    compress : bool or None, default=None
        Whether to gzip the file; ``None`` compresses when ``path`` ends with
        ``.gz``.  The gzip header carries no timestamp, so equal arrays give
        byte-identical files.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        If the array has 0 or more than 255 dimensions, a dimension of
        ``2**32`` or more, or a dtype the IDX format cannot store.
    OSError
        If the file cannot be written.
    """
    array = np.asarray(array)
    path = Path(path)
    codes = {dtype.str[1:]: code for code, dtype in _IDX_DTYPES.items()}
    key = array.dtype.str[1:]
    if key not in codes:
        raise ValueError(
            f"cannot write dtype {array.dtype} to IDX; use one of uint8, int8, "
            "int16, int32, float32, float64"
        )
    if not 1 <= array.ndim <= 255:
        raise ValueError(
            f"IDX files hold 1 to 255 dimensions, the array has {array.ndim}"
        )
    if any(dim >= 2**32 for dim in array.shape):
        raise ValueError(f"dimensions {array.shape} do not all fit in uint32")
    header = bytes([0, 0, codes[key], array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(array, dtype=_IDX_DTYPES[codes[key]]).tobytes()
    if compress is None:
        compress = path.name.endswith(".gz")
    # Written to a temporary file then renamed: never a half-written file.
    with tempfile.NamedTemporaryFile(
        delete=False, dir=path.parent, prefix=f"{path.name}.", suffix=".part"
    ) as raw:
        tmp_name = raw.name
    try:
        with open(tmp_name, "wb") as raw:
            if compress:
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
                    f.write(header)
                    f.write(payload)
            else:
                raw.write(header)
                raw.write(payload)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        os.unlink(tmp_name)
        raise


# --------------------------------------------------------------------------
# Locating and downloading the files
# --------------------------------------------------------------------------


def _cache_dir(name):
    """Return the cache folder ``<get_data_home()>/sknumpynet/<name>``."""
    return Path(get_data_home()) / "sknumpynet" / name


def _candidate_dirs(name, data_home):
    """Return the folders to search, in order, without duplicates."""
    dirs = []
    for base in (data_home, os.environ.get(ENV_VAR)):
        if base:
            base = Path(base).expanduser()
            dirs += [base / name, base]
    dirs.append(_cache_dir(name))
    dirs += [Path(d) for d in SYSTEM_DATA_DIRS.get(name, ())]
    unique = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def _find_file(folder, stem):
    """Return ``folder/stem.gz`` or ``folder/stem`` if it is a file, else None."""
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def _find_all(folder, stems):
    """Return the paths of all ``stems`` in ``folder``, or None if any lacks."""
    paths = [_find_file(folder, stem) for stem in stems]
    return None if any(p is None for p in paths) else paths


def _guidance(name):
    """Return the text telling users how to provide the files themselves."""
    files = ", ".join(sorted(SHA256[name]))
    lines = [
        (
            f"Provide the {_TITLES[name]} files ({files}; also accepted "
            "uncompressed) in one of these ways:"
        ),
        (
            f"  - pass data_home=<folder> holding them directly or in a '{name}' "
            "sub-folder;"
        ),
        f"  - set the {ENV_VAR} environment variable to such a folder;",
        f"  - put them in the cache folder {_cache_dir(name)};",
    ]
    if name == "fashion-mnist":
        lines.append(
            "  - on Debian/Ubuntu: apt-get install dataset-fashion-mnist "
            "(installs them in /usr/share/datasets/fashion-mnist);"
        )
    mirrors = " or ".join(MIRRORS[name]) or "(no mirror configured)"
    lines.append(
        f"  - or let the fetcher download them (download_if_missing=True) from "
        f"{mirrors}."
    )
    return "\n".join(lines)


def _download_one(url, dest, sha256, max_bytes):
    """Download ``url`` to ``dest`` via a verified temporary file.

    The body goes to a ``.part`` file in ``dest``'s folder, which is renamed
    to ``dest`` only after its length matches ``Content-Length`` (when sent)
    and its SHA-256 matches ``sha256``.  No more than ``max_bytes`` are read,
    whether or not the server sends a ``Content-Length``.  On any failure the
    temporary file is removed and a :class:`DownloadError` is raised.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "sknumpynet"})
    opener = urllib.request.build_opener()
    tmp_name = None
    try:
        with (
            opener.open(request, timeout=DOWNLOAD_TIMEOUT) as response,
            tempfile.NamedTemporaryFile(
                delete=False, dir=dest.parent, prefix=f"{dest.name}.", suffix=".part"
            ) as tmp,
        ):
            tmp_name = tmp.name
            length = response.headers.get("Content-Length")
            _check_announced_length(url, length, max_bytes)
            digest = hashlib.sha256()
            size = 0
            while chunk := response.read(min(1 << 16, max_bytes + 1 - size)):
                tmp.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if size > max_bytes:
                    raise DownloadError(
                        f"{url}: the server sent more than {max_bytes} bytes, the "
                        "most this file can take; stopped reading"
                    )
        if length is not None and size != int(length):
            raise DownloadError(
                f"{url}: connection closed early: expected {int(length)} bytes "
                f"(Content-Length), got {size}"
            )
        got = digest.hexdigest()
        if got != sha256:
            raise DownloadError(
                f"{url}: SHA-256 mismatch: expected {sha256}, got {got} ({size} bytes)"
            )
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, dest)
    except BaseException as exc:
        if isinstance(exc, urllib.error.HTTPError):
            exc.close()  # it holds the connection open
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except FileNotFoundError:
                pass
        if isinstance(exc, DownloadError):
            raise
        if isinstance(exc, (OSError, http.client.HTTPException, ValueError)):
            raise DownloadError(f"{url}: {type(exc).__name__}: {exc}") from exc
        raise


def _check_announced_length(url, length, max_bytes):
    """Refuse a ``Content-Length`` header above ``max_bytes`` (or not a number)."""
    if length is None:
        return
    if not length.strip().isdigit():
        raise DownloadError(f"{url}: invalid Content-Length {length!r}")
    if int(length) > max_bytes:
        raise DownloadError(
            f"{url}: Content-Length {int(length)} is more than {max_bytes} bytes, "
            "the most this file can take; not downloading it"
        )


def _download(name, filename, dest_dir):
    """Download ``filename`` into ``dest_dir``, trying each mirror in turn."""
    sha256 = SHA256[name][filename]
    max_bytes = _max_download_bytes(filename)
    failures = []
    last_exc = None
    for base in MIRRORS[name]:
        url = base.rstrip("/") + "/" + filename
        logger.info("Downloading %s to %s", url, dest_dir)
        try:
            _download_one(url, dest_dir / filename, sha256, max_bytes)
            return
        except DownloadError as exc:
            failures.append(f"  - {exc}")
            last_exc = exc
    tried = "\n".join(failures) or "  (no mirror configured)"
    raise DownloadError(
        f"Could not download {filename} for {_TITLES[name]}; tried:\n{tried}\n"
        f"{_guidance(name)}"
    ) from last_exc


def _locate(name, data_home, stems, download_if_missing):
    """Return the paths of ``stems``, searching then downloading if allowed."""
    searched = _candidate_dirs(name, data_home)
    for folder in searched:
        paths = _find_all(folder, stems)
        if paths is not None:
            return paths
    if not download_if_missing:
        listing = "\n".join(f"  - {d}" for d in searched)
        raise FileNotFoundError(
            f"{_TITLES[name]} files not found (download_if_missing=False); "
            f"searched:\n{listing}\n{_guidance(name)}"
        )
    dest_dir = Path(data_home).expanduser() / name if data_home else _cache_dir(name)
    dest_dir.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        if _find_file(dest_dir, stem) is None:
            _download(name, f"{stem}.gz", dest_dir)
    return [_find_file(dest_dir, stem) for stem in stems]


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def _expected_idx_bytes(stem):
    """Return the decompressed size of the file ``stem`` (header included).

    Derived from :data:`EXPECTED_N_SAMPLES` at call time: ``n * 784 + 16``
    bytes for an images file, ``n + 8`` for a labels file.
    """
    for part, (images_stem, labels_stem) in _FILE_STEMS.items():
        n = EXPECTED_N_SAMPLES[part]
        if stem == images_stem:
            return 16 + n * _IMAGE_SHAPE[0] * _IMAGE_SHAPE[1]
        if stem == labels_stem:
            return 8 + n
    raise KeyError(stem)


def _max_download_bytes(filename):
    """Return the most bytes a download of ``filename`` (a ``.gz``) may take.

    A gzip file is never much larger than what it holds (deflate's stored
    blocks add 5 bytes per 64 KiB), so the cap is the decompressed size plus
    a thousandth plus 1 KiB for the headers.
    """
    size = _expected_idx_bytes(filename.removesuffix(".gz"))
    return size + size // 1000 + 1024


def _load_pair(images_path, labels_path, part):
    """Load and check one images/labels file pair.

    Each file is refused, before it is decompressed, when its header
    promises more than its known size (from the expected sample count) in
    the widest IDX type, float64: a file of the right count but the wrong
    type still gets the precise message below, a gzip bomb is never expanded.
    """
    images_stem, labels_stem = _FILE_STEMS[part]
    widest = max(dtype.itemsize for dtype in _IDX_DTYPES.values())
    images = load_idx(images_path, max_bytes=widest * _expected_idx_bytes(images_stem))
    labels = load_idx(labels_path, max_bytes=widest * _expected_idx_bytes(labels_stem))
    if images.dtype != np.uint8 or images.shape[1:] != _IMAGE_SHAPE:
        raise ValueError(
            f"{images_path}: expected uint8 images of shape (n, 28, 28), got "
            f"{images.dtype} of shape {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{labels_path}: expected uint8 labels of shape (n,), got "
            f"{labels.dtype} of shape {labels.shape}"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels"
        )
    expected = EXPECTED_N_SAMPLES[part]
    if len(labels) != expected:
        raise ValueError(
            f"{images_path} and {labels_path} hold {len(labels)} samples, "
            f"expected {expected} for the {part} set"
        )
    if len(labels) and labels.max() >= _N_CLASSES:
        raise ValueError(
            f"{labels_path}: labels must be in 0..{_N_CLASSES - 1}, found "
            f"{int(labels.max())}"
        )
    return images, labels


def _check_not_other_data_set(name, label_paths):
    """Refuse label files whose checksum says they belong to the other data set.

    MNIST and Fashion-MNIST use the same file names, so a folder holding one
    of them directly would otherwise be loaded silently as the other.  Only
    the small label files are hashed; uncompressed files are not checked.
    """
    for path in label_paths:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        for other, table in SHA256.items():
            if other != name and digest == table.get(path.name):
                raise ValueError(
                    f"{path} is the {_TITLES[other]} file (its SHA-256 matches), "
                    f"not {_TITLES[name]}: pass a folder holding the "
                    f"{_TITLES[name]} files, or a parent folder with a '{name}' "
                    "sub-folder"
                )


def _fetch(name, data_home, subset, download_if_missing, return_X_y, as_frame):
    """Shared implementation of the two fetchers."""
    if subset not in _SUBSETS:
        raise ValueError(
            f"subset must be one of 'train', 'test', 'all', got {subset!r}"
        )
    if as_frame:
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "as_frame=True requires pandas; install it (pip install pandas) "
                "or use as_frame=False"
            ) from exc
    parts = _SUBSETS[subset]
    stems = [stem for part in parts for stem in _FILE_STEMS[part]]
    paths = _locate(name, data_home, stems, download_if_missing)
    _check_not_other_data_set(name, paths[1::2])
    loaded = [
        _load_pair(paths[2 * i], paths[2 * i + 1], part) for i, part in enumerate(parts)
    ]
    if len(loaded) == 1:
        images, labels = loaded[0]
    else:
        images = np.concatenate([im for im, _ in loaded])
        labels = np.concatenate([lab for _, lab in loaded])
    n_features = _IMAGE_SHAPE[0] * _IMAGE_SHAPE[1]
    data = images.reshape(len(images), n_features)
    target = labels.astype(np.int64)
    feature_names = [f"pixel_{i}" for i in range(n_features)]
    frame = None
    if as_frame:
        data = pd.DataFrame(data, columns=feature_names)
        target = pd.Series(target, name="target")
        frame = pd.concat([data, target], axis=1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        images=images,
        target_names=np.array(_TARGET_NAMES[name]),
        feature_names=feature_names,
        DESCR=_DESCR[name] + _DESCR_DATA.format(subset=subset, n=len(images)),
    )


def fetch_fashion_mnist(
    data_home=None,
    *,
    subset="train",
    download_if_missing=True,
    return_X_y=False,
    as_frame=False,
):
    """Load Fashion-MNIST, Zalando's 28x28 clothing images, downloading if needed.

    70,000 grayscale images of clothing in 10 balanced classes, split into
    60,000 training and 10,000 test samples, in the same format as MNIST.
    See the module docstring for where the files are searched and cached.
    Files found in a search folder are checked for a valid IDX structure,
    28x28 uint8 images, as many labels as images, labels in 0..9 and the
    expected counts (60,000 train, 10,000 test), and compressed label files
    must not be those of the other data set (MNIST and Fashion-MNIST share
    file names); downloaded files are also verified against SHA-256
    checksums.

    Parameters
    ----------
    data_home : str or os.PathLike, default=None
        A folder holding the files, in a ``fashion-mnist`` sub-folder or
        directly.  It is searched first and downloads go to
        ``<data_home>/fashion-mnist``.  Then, whatever its value, come the
        ``SKNUMPYNET_DATA`` folder, the cache folder
        ``<sklearn.datasets.get_data_home()>/sknumpynet/fashion-mnist`` (where
        downloads go when ``data_home`` is None) and the system folders
        (``/usr/share/datasets/fashion-mnist``, filled by Debian's
        ``apt-get install dataset-fashion-mnist``).
    subset : {"train", "test", "all"}, default="train"
        Which split to load: 60,000 training samples, 10,000 test samples,
        or all 70,000 with the training samples first.
    download_if_missing : bool, default=True
        Whether to download the files missing from every folder searched.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame with columns ``feature_names``
        and ``target`` a pandas Series named ``"target"``; the Bunch also
        gets ``frame``, both joined.  Requires pandas.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of shape (n_samples, 784), dtype uint8, or DataFrame
            Pixel values 0-255 of the row-major flattened images, not scaled
            (divide by 255.0 yourself if you want floats in [0, 1]).
        target : ndarray of shape (n_samples,), dtype int64, or Series
            Class indices 0-9.
        frame : DataFrame of shape (n_samples, 785) or None
            ``data`` and ``target`` side by side when ``as_frame=True``.
        images : ndarray of shape (n_samples, 28, 28), dtype uint8
            The images; shares memory with ``data`` when it is an ndarray.
        target_names : ndarray of shape (10,), dtype str
            Class names "T-shirt/top", "Trouser", "Pullover", "Dress",
            "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot";
            ``target_names[target]`` gives each sample's class name.
        feature_names : list of str of length 784
            ``"pixel_0"`` to ``"pixel_783"``.
        DESCR : str
            Description of the data set and of the arrays.

        n_samples is 60,000 for ``subset="train"``, 10,000 for ``"test"``
        and 70,000 for ``"all"``.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` described above.

    Raises
    ------
    ValueError
        If ``subset`` is invalid, or a file found or downloaded is not valid
        (bad IDX structure, unexpected shape, count or label, or a label file
        of the other data set); the message names the file.
    FileNotFoundError
        If the files are not found and ``download_if_missing`` is False.  The
        message lists the folders searched and the ways to provide the files.
    DownloadError
        If a missing file could not be downloaded from any mirror and
        verified (an :class:`OSError` subclass).  The message names each URL
        tried, what went wrong there, and the ways to provide the files.
        Nothing is left behind in the destination folder for that file.
    ImportError
        If ``as_frame`` is True and pandas is not installed.

    Examples
    --------
    >>> from sknumpynet.datasets import fetch_fashion_mnist
    >>> X, y = fetch_fashion_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype, y.shape  # doctest: +SKIP
    ((10000, 784), dtype('uint8'), (10000,))
    """
    return _fetch(
        "fashion-mnist", data_home, subset, download_if_missing, return_X_y, as_frame
    )


def fetch_mnist(
    data_home=None,
    *,
    subset="train",
    download_if_missing=True,
    return_X_y=False,
    as_frame=False,
):
    """Load MNIST, the 28x28 handwritten digits, downloading them if needed.

    70,000 grayscale images of the digits 0 to 9, split into 60,000
    training and 10,000 test samples.
    See the module docstring for where the files are searched and cached.
    Files found in a search folder are checked for a valid IDX structure,
    28x28 uint8 images, as many labels as images, labels in 0..9 and the
    expected counts (60,000 train, 10,000 test), and compressed label files
    must not be those of the other data set (MNIST and Fashion-MNIST share
    file names); downloaded files are also verified against SHA-256
    checksums.

    Parameters
    ----------
    data_home : str or os.PathLike, default=None
        A folder holding the files, in a ``mnist`` sub-folder or directly.
        It is searched first and downloads go to ``<data_home>/mnist``.
        Then, whatever its value, come the ``SKNUMPYNET_DATA`` folder, the
        cache folder ``<sklearn.datasets.get_data_home()>/sknumpynet/mnist``
        (where downloads go when ``data_home`` is None) and the system
        folders (none by default).
    subset : {"train", "test", "all"}, default="train"
        Which split to load: 60,000 training samples, 10,000 test samples,
        or all 70,000 with the training samples first.
    download_if_missing : bool, default=True
        Whether to download the files missing from every folder searched.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame with columns ``feature_names``
        and ``target`` a pandas Series named ``"target"``; the Bunch also
        gets ``frame``, both joined.  Requires pandas.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of shape (n_samples, 784), dtype uint8, or DataFrame
            Pixel values 0-255 of the row-major flattened images, not scaled
            (divide by 255.0 yourself if you want floats in [0, 1]).
        target : ndarray of shape (n_samples,), dtype int64, or Series
            Class indices 0-9.
        frame : DataFrame of shape (n_samples, 785) or None
            ``data`` and ``target`` side by side when ``as_frame=True``.
        images : ndarray of shape (n_samples, 28, 28), dtype uint8
            The images; shares memory with ``data`` when it is an ndarray.
        target_names : ndarray of shape (10,), dtype str
            Class names "0" to "9"; ``target_names[target]`` gives each
            sample's class name.
        feature_names : list of str of length 784
            ``"pixel_0"`` to ``"pixel_783"``.
        DESCR : str
            Description of the data set and of the arrays.

        n_samples is 60,000 for ``subset="train"``, 10,000 for ``"test"``
        and 70,000 for ``"all"``.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` described above.

    Raises
    ------
    ValueError
        If ``subset`` is invalid, or a file found or downloaded is not valid
        (bad IDX structure, unexpected shape, count or label, or a label file
        of the other data set); the message names the file.
    FileNotFoundError
        If the files are not found and ``download_if_missing`` is False.  The
        message lists the folders searched and the ways to provide the files.
    DownloadError
        If a missing file could not be downloaded from any mirror and
        verified (an :class:`OSError` subclass).  The message names each URL
        tried, what went wrong there, and the ways to provide the files.
        Nothing is left behind in the destination folder for that file.
    ImportError
        If ``as_frame`` is True and pandas is not installed.

    Examples
    --------
    >>> from sknumpynet.datasets import fetch_mnist
    >>> X, y = fetch_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype, y.shape  # doctest: +SKIP
    ((10000, 784), dtype('uint8'), (10000,))
    """
    return _fetch("mnist", data_home, subset, download_if_missing, return_X_y, as_frame)
