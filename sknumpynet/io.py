"""Save and load fitted estimators without pickle.

A model file is a zip archive (stored, not compressed) of three kinds of member:

- ``sknumpynet.json``: the format version, the package version, the estimator's
  class name, its constructor parameters and every fitted attribute, encoded
  as JSON with a small set of tagged value kinds (see :func:`save`);
- ``arrays/<i>.npy``: every numpy array, written with :func:`numpy.save` and
  read back with ``allow_pickle=False``;
- ``checksums.json``: the SHA-256 of every other member.

Loading builds objects only from explicit whitelists (the estimators,
the layers and optimizers of :mod:`sknumpynet.nn`, numpy's bit generators), so
a model file cannot run code, unlike ``pickle.load`` or ``joblib.load``.

:func:`trusted_types` lists the sknumpynet types to pass to
``skops.io.load(path, trusted=...)`` for those who prefer skops' format.
"""

import contextlib
import dataclasses
import hashlib
import inspect
import io as _io
import json
import os
import re
import secrets
import stat
import zipfile

import numpy as np

from . import nn

__all__ = [
    "FILE_FORMAT_VERSION",
    "load",
    "load_optimizer_state",
    "module_from_state",
    "module_state",
    "optimizer_state",
    "save",
    "trusted_types",
]

#: Version of the model-file layout written by :func:`save`. Files of a newer
#: version are refused by :func:`load`.
FILE_FORMAT_VERSION = 1

_MAGIC = "sknumpynet-model"
_META = "sknumpynet.json"
_CHECKSUMS = "checksums.json"
_ARRAY_NAME = re.compile(r"arrays/(0|[1-9][0-9]{0,8})\.npy")
_ESTIMATORS = (
    "MLPClassifier", "MLPRegressor", "LinearSVM", "TabularMLPClassifier", "TabularMLPRegressor",
)
#: The engine's modules a file may name, and the optimizers.
_MODULES = (
    "Sequential", "Linear", "Dropout", "BatchNorm1d", "Identity",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "SELU", "Mish", "GELU", "SiLU",
    "Scale", "Embedding", "CategoricalEmbedding",
)
_OPTIMIZERS = ("SGD", "Momentum", "RMSProp", "Adam", "Nadam")
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
_SCALAR_ATTR = re.compile(r"[a-z][a-z0-9_]*")


def _estimator_classes():
    import sknumpynet

    return {name: getattr(sknumpynet, name) for name in _ESTIMATORS}


def _record_classes():
    """The plain dataclasses of sknumpynet a fitted estimator may hold, by name."""
    from . import _tabular_data, _training

    return {"TrainingLog": _training.TrainingLog, "ColumnPlan": _tabular_data.ColumnPlan}


# -- values <-> JSON ---------------------------------------------------------------


class _Encoder:
    """Turns a value into JSON-able data; arrays go into ``self.arrays``."""

    def __init__(self):
        self.arrays = []
        # generators by identity: two dropout layers drawing from one stream
        # must still share it after loading
        self.generators = {}

    def array(self, a):
        if a.dtype.hasobject:
            return self._object_array(a)
        if a.dtype.kind not in "biufcUSMm":
            raise TypeError(f"arrays of dtype {a.dtype} are not supported")
        self.arrays.append(np.ascontiguousarray(a))
        return {"kind": "array", "index": len(self.arrays) - 1}

    def _object_array(self, a):
        # object arrays (string labels from pandas) become a list of plain values
        # (numpy scalars among them become the equal Python value)
        items = [v.item() if isinstance(v, np.generic) and v.dtype.kind in "biufU" else v
                 for v in a.ravel().tolist()]
        for v in items:
            if not isinstance(v, (str, bool, int, float)) or isinstance(v, np.generic):
                raise TypeError(f"object arrays may hold only str, int, float or bool, got "
                                f"{type(v).__name__}")
        return {"kind": "object_array", "shape": list(a.shape), "items": items}

    def value(self, v):
        """Encode ``v``; raises TypeError for a kind outside the whitelist."""
        if isinstance(v, np.ndarray):
            return self.array(v)
        if isinstance(v, np.generic):
            if v.dtype.hasobject or v.dtype.kind not in "biufU":
                raise TypeError(f"numpy scalars of dtype {v.dtype} are not supported")
            return {"kind": "scalar", "dtype": v.dtype.str, "value": v.item()}
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, (list, tuple)):
            kind = "list" if isinstance(v, list) else "tuple"
            return {"kind": kind, "items": [self.value(x) for x in v]}
        if isinstance(v, dict):
            return {"kind": "dict", "items": [[self.value(k), self.value(x)] for k, x in v.items()]}
        if isinstance(v, np.dtype):
            if v.hasobject:
                raise TypeError("object dtypes are not supported")
            return {"kind": "dtype", "str": v.str}
        if isinstance(v, np.random.Generator):
            if id(v) not in self.generators:
                state = self.bit_generator(v.bit_generator)
                self.generators[id(v)] = (len(self.generators), v, state)
            return {"kind": "generator", "ref": self.generators[id(v)][0]}
        if isinstance(v, np.random.RandomState):
            return {"kind": "random_state", "state": self.value(v.get_state(legacy=False))}
        if isinstance(v, nn.Module):
            return {"kind": "module", "module": module_state(v, self)}
        if _record_classes().get(type(v).__name__) is type(v):
            fields = {f.name: self.value(getattr(v, f.name)) for f in dataclasses.fields(v)}
            return {"kind": "record", "type": type(v).__name__, "fields": fields}
        raise TypeError(f"values of type {type(v).__module__}.{type(v).__qualname__} "
                        "are not supported")

    def bit_generator(self, bitgen):
        name = type(bitgen).__name__
        if name not in _BIT_GENERATORS:
            raise TypeError(f"bit generator {name} is not supported")
        return self.value(bitgen.state)


class _Decoder:
    """The inverse of :class:`_Encoder`, over the arrays read from a file."""

    def __init__(self, arrays, generators):
        self.arrays = arrays
        self.generators = [np.random.Generator(self.bit_generator(g)) for g in generators]

    def value(self, d):
        if d is None or isinstance(d, (bool, int, float, str)):
            return d
        if not isinstance(d, dict) or "kind" not in d:
            raise ValueError(f"malformed value {str(d)[:80]!r}")
        kind = d["kind"]
        if kind == "array":
            return self.array(d["index"])
        if kind in ("list", "tuple"):
            items = [self.value(x) for x in d["items"]]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            return {self.value(k): self.value(x) for k, x in d["items"]}
        if kind == "scalar":
            dtype = np.dtype(_plain_dtype(d["dtype"]))
            if dtype.kind not in "biufU":
                raise ValueError(f"numpy scalars of dtype {dtype} are not allowed")
            return dtype.type(d["value"])
        if kind == "dtype":
            return np.dtype(_plain_dtype(d["str"]))
        if kind == "object_array":
            return self.object_array(d)
        if kind == "generator":
            ref = d["ref"]
            if not isinstance(ref, int) or not 0 <= ref < len(self.generators):
                raise ValueError(f"generator reference {ref!r} is out of range")
            return self.generators[ref]
        if kind == "random_state":
            state = self.value(d["state"])
            rs = np.random.RandomState()
            rs.set_state(state)
            return rs
        if kind == "module":
            return module_from_state(d["module"], self)
        if kind == "record":
            return self.record(d)
        raise ValueError(f"unknown value kind {kind!r}")

    def record(self, d):
        cls = _record_classes().get(d["type"])
        if cls is None:
            raise ValueError(f"unknown record type {d['type']!r}; allowed: "
                             f"{', '.join(_record_classes())}")
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = set(d["fields"]) - names
        if unknown:
            raise ValueError(f"{d['type']} has no fields {sorted(unknown)}")
        return cls(**{k: self.value(v) for k, v in d["fields"].items()})

    def array(self, index):
        if not isinstance(index, int) or not 0 <= index < len(self.arrays):
            raise ValueError(f"array index {index!r} is out of range")
        return self.arrays[index]

    def object_array(self, d):
        items = [self.value(x) for x in d["items"]]
        if any(not isinstance(v, (str, bool, int, float)) for v in items):
            raise ValueError("object arrays may hold only str, int, float or bool")
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out.reshape([int(n) for n in d["shape"]])

    def bit_generator(self, state):
        state = self.value(state)
        name = state.get("bit_generator") if isinstance(state, dict) else None
        if name not in _BIT_GENERATORS:
            raise ValueError(f"unknown bit generator {name!r}; allowed: {_BIT_GENERATORS}")
        bitgen = getattr(np.random, name)()
        bitgen.state = state
        return bitgen


def _plain_dtype(text):
    if not isinstance(text, str) or "O" in text or "V" in text or "[" in text:
        raise ValueError(f"dtype {text!r} is not allowed")
    return text


# -- engine objects ------------------------------------------------------------------


def _constructor_names(cls, skip=()):
    sig = inspect.signature(cls.__init__)
    return [
        name for name, p in list(sig.parameters.items())[1:]
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and name not in skip
    ]


def _scalar_attributes(obj, skip=()):
    """Public plain attributes (bool, int, float, str, None) of ``obj``: its settings."""
    return {
        name: v for name, v in vars(obj).items()
        if _SCALAR_ATTR.fullmatch(name) and name not in skip
        and (v is None or isinstance(v, (bool, int, float, str)))
        and not isinstance(v, np.generic)
    }


def module_state(module, encoder):
    """Describe a module tree as JSON-able data, its arrays added to ``encoder``.

    Walks the module through its public API: the constructor arguments read
    off its attributes of the same name, its plain public attributes (mode,
    flags), its parameter values (:meth:`~sknumpynet.nn.Module.parameters`),
    its buffers (:meth:`~sknumpynet.nn.Module.buffers`) and its children.

    Parameters
    ----------
    module : sknumpynet.nn.Module
        One of the engine's own classes (subclasses elsewhere are refused).
    encoder : object
        The encoder of :func:`save`, which collects the arrays.

    Returns
    -------
    state : dict
    """
    cls = _supported_class(module, _MODULES, "module")
    name = cls.__name__
    children = list(module) if isinstance(module, nn.Sequential) else []
    args = {}
    for arg in _constructor_names(cls, skip=("modules",)):
        value = getattr(module, arg, None)
        if arg == "rng":
            value = None if value is None else encoder.value(value)
        elif arg == "bias" and isinstance(value, (nn.Parameter, type(None))):
            value = value is not None
        elif arg == "init":
            value = None  # the weights are restored; the initialiser is not needed
        else:
            value = encoder.value(value)
        args[arg] = value
    own = _own_parameters(module, children)
    own_buffers = [getattr(module, b) for b in getattr(module, "_buffer_names", ())]
    return {
        "type": name,
        "args": args,
        "attributes": _scalar_attributes(
            module, skip=(*args, *getattr(module, "_cache_names", ()))
        ),
        "parameters": [encoder.value(p.value) for p in own],
        "decay": [p.decay for p in own],
        "lr_scale": [p.lr_scale for p in own],
        "buffers": [encoder.value(b) for b in own_buffers],
        "children": [module_state(c, encoder) for c in children],
    }


def _own_parameters(module, children):
    """``module``'s parameters that are not its ``children``'s (those come last)."""
    params = module.parameters()
    return params[: len(params) - sum(len(c.parameters()) for c in children)]


def _supported_class(obj, allowed, kind):
    """The class of ``obj`` if it is one of ``sknumpynet.nn``'s ``allowed``, else TypeError."""
    cls = type(obj)
    if cls.__name__ not in allowed or getattr(nn, cls.__name__) is not cls:
        raise TypeError(f"{kind} type {cls.__module__}.{cls.__qualname__} is not supported "
                        f"(allowed: sknumpynet.nn {', '.join(allowed)})")
    return cls


def _allowed_class(name, allowed, kind):
    """``sknumpynet.nn``'s class named ``name`` if ``allowed`` lists it, else ValueError."""
    if name not in allowed:
        raise ValueError(f"unknown {kind} type {name!r}; allowed: {', '.join(allowed)}")
    return getattr(nn, name)


def module_from_state(state, decoder):
    """Rebuild a module tree described by :func:`module_state`.

    Parameters
    ----------
    state : dict
    decoder : object
        The decoder of :func:`load`, which holds the arrays.

    Returns
    -------
    module : sknumpynet.nn.Module
    """
    name = state.get("type")
    cls = _allowed_class(name, _MODULES, "module")
    children = [module_from_state(c, decoder) for c in state["children"]]
    allowed = set(_constructor_names(cls, skip=("modules",)))
    args = {}
    for arg, value in state["args"].items():
        if arg not in allowed:
            raise ValueError(f"{name} has no constructor argument {arg!r}")
        if arg == "init" or value is None:
            continue
        args[arg] = value if arg == "bias" else decoder.value(value)
    if "in_features" in allowed:  # a Linear's initial weights are overwritten below
        args.setdefault("rng", np.random.default_rng(0))
    module = cls(*children, **args)
    _set_attributes(module, state["attributes"], name)
    own = _own_parameters(module, children)
    _copy_arrays([p.value for p in own], state["parameters"], decoder, f"{name} parameter")
    if state.get("decay") is not None:  # without the flags, the layers' defaults stay
        for p, decay in zip(own, state["decay"]):
            p.decay = bool(decay)
    if state.get("lr_scale") is not None:  # files written before it existed: all 1
        _set_lr_scales(own, state["lr_scale"], name)
    buffers = [getattr(module, b) for b in getattr(module, "_buffer_names", ())]
    _copy_arrays(buffers, state["buffers"], decoder, f"{name} buffer")
    return module


def _set_lr_scales(params, scales, owner):
    if not isinstance(scales, list) or len(scales) != len(params):
        raise ValueError(f"{owner} needs one lr_scale per parameter, the file has {scales!r}")
    for p, scale in zip(params, scales):
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (
            np.isfinite(scale) and scale >= 0
        ):
            raise ValueError(f"{owner} lr_scale {scale!r} is not a finite non-negative number")
        p.lr_scale = float(scale)


def _set_attributes(obj, attributes, owner):
    for attr, value in attributes.items():
        if not _SCALAR_ATTR.fullmatch(attr) or not (
            value is None or isinstance(value, (bool, int, float, str))
        ):
            raise ValueError(f"{owner} attribute {attr!r} is not a plain setting")
        if attr in vars(obj):  # only settings the constructor made; others are stale
            setattr(obj, attr, value)


def _copy_arrays(targets, encoded, decoder, what):
    if len(targets) != len(encoded):
        raise ValueError(f"expected {len(targets)} {what} arrays, the file has {len(encoded)}")
    for target, enc in zip(targets, encoded):
        source = decoder.value(enc)
        if not isinstance(source, np.ndarray) or source.shape != target.shape:
            raise ValueError(f"{what} of shape {target.shape} does not match the file's "
                             f"{getattr(source, 'shape', type(source).__name__)}")
        if source.dtype != target.dtype:
            raise ValueError(f"{what} of dtype {target.dtype} does not match the file's "
                             f"{source.dtype}")
        np.copyto(target, source)


def optimizer_state(optimizer, encoder):
    """Describe an optimizer as JSON-able data: its settings and state arrays.

    Parameters
    ----------
    optimizer : sknumpynet.nn.Optimizer
    encoder : object

    Returns
    -------
    state : dict
    """
    cls = _supported_class(optimizer, _OPTIMIZERS, "optimizer")
    name = cls.__name__
    args = {a: encoder.value(getattr(optimizer, a)) for a in _constructor_names(cls, ("params",))}
    return {
        "type": name,
        "args": args,
        "attributes": _scalar_attributes(optimizer, skip=args),
        "state": [encoder.value(a) for a in optimizer.state_arrays()],
    }


def load_optimizer_state(state, params, decoder):
    """Rebuild an optimizer described by :func:`optimizer_state` on ``params``.

    Parameters
    ----------
    state : dict
    params : list of Parameter
        The rebuilt network's parameters, in the order the optimizer saw them.
    decoder : object

    Returns
    -------
    optimizer : sknumpynet.nn.Optimizer
    """
    name = state.get("type")
    cls = _allowed_class(name, _OPTIMIZERS, "optimizer")
    allowed = set(_constructor_names(cls, ("params",)))
    args = dict(state["args"])
    if "weight_decay" not in allowed or "decoupled_weight_decay" not in state["attributes"]:
        # an L2 decay that the trainer set before every step, retired: nothing is
        # lost without it (Adam's decoupled weight_decay comes with that attribute)
        args.pop("weight_decay", None)
    unknown = set(args) - allowed
    if unknown:
        raise ValueError(f"{name} has no constructor arguments {sorted(unknown)}")
    optimizer = cls(params, **{a: decoder.value(v) for a, v in args.items()})
    _set_attributes(optimizer, state["attributes"], name)
    _copy_arrays(optimizer.state_arrays(), state["state"], decoder, f"{name} state")
    return optimizer


# -- the estimator ---------------------------------------------------------------------


def _encode_estimator(estimator):
    cls = type(estimator)
    if _estimator_classes().get(cls.__name__) is not cls:
        raise TypeError(
            f"save supports {', '.join(_ESTIMATORS)}; got {cls.__module__}.{cls.__qualname__}."
        )
    if "network_" not in vars(estimator):
        raise ValueError(f"This {cls.__name__} is not fitted yet; fit it before saving.")
    encoder = _Encoder()
    params = estimator.get_params(deep=False)
    meta = {"params": {}, "fitted": {}, "optimizers": {}}
    for name, value in params.items():
        meta["params"][name] = _encode_attribute(encoder, name, value, "parameter")
    modules = {n: v for n, v in vars(estimator).items() if isinstance(v, nn.Module)}
    for name, value in vars(estimator).items():
        if name in params:
            continue
        if isinstance(value, nn.Optimizer):
            meta["optimizers"][name] = _encode_optimizer(encoder, name, value, modules)
        else:
            meta["fitted"][name] = _encode_attribute(encoder, name, value, "attribute")
    meta["estimator"] = cls.__name__
    meta["generators"] = [state for _, _, state in encoder.generators.values()]
    return meta, encoder.arrays


def _encode_attribute(encoder, name, value, what):
    try:
        return encoder.value(value)
    except TypeError as exc:
        raise ValueError(f"Cannot save the {what} {name!r}: {exc}.") from None


def _encode_optimizer(encoder, name, optimizer, modules):
    for owner, module in modules.items():
        params = module.parameters()
        if len(params) == len(optimizer.params) and all(
            a is b for a, b in zip(params, optimizer.params)
        ):
            try:
                return {"over": owner, "optimizer": optimizer_state(optimizer, encoder)}
            except TypeError as exc:
                raise ValueError(f"Cannot save the attribute {name!r}: {exc}.") from None
    raise ValueError(f"Cannot save the attribute {name!r}: its optimizer does not update the "
                     "parameters of any network of the estimator, in their order.")


def _decode_estimator(meta, arrays):
    name = meta.get("estimator")
    classes = _estimator_classes()
    if name not in classes:
        raise ValueError(f"unknown estimator type {name!r}; allowed: {', '.join(_ESTIMATORS)}")
    cls = classes[name]
    decoder = _Decoder(arrays, meta["generators"])
    valid = set(cls().get_params(deep=False))
    params = {k: decoder.value(v) for k, v in meta["params"].items()}
    if set(params) - valid:
        raise ValueError(f"{name} has no parameters {sorted(set(params) - valid)}")
    estimator = cls(**params)
    fitted = {}
    for attr, value in meta["fitted"].items():
        if not isinstance(attr, str) or not attr.isidentifier() or attr.startswith("__"):
            raise ValueError(f"attribute name {attr!r} is not allowed")
        if attr in valid or hasattr(cls, attr):
            raise ValueError(f"attribute {attr!r} collides with a parameter or method")
        fitted[attr] = decoder.value(value)
    for attr, value in meta["optimizers"].items():
        if not attr.isidentifier() or attr.startswith("__"):
            raise ValueError(f"attribute name {attr!r} is not allowed")
        owner = fitted.get(value["over"])
        if not isinstance(owner, nn.Module):
            raise ValueError(f"optimizer {attr!r} refers to no network ({value['over']!r})")
        fitted[attr] = load_optimizer_state(value["optimizer"], owner.parameters(), decoder)
    # through __setstate__, as unpickling: the estimator's own checks and
    # upgrades of older fitted layouts (its _format_version) apply here too
    estimator.__setstate__({**vars(estimator), **fitted})
    return estimator


# -- the file ----------------------------------------------------------------------------


def save(estimator, path):
    """Save a fitted estimator to ``path``, atomically, in a format that runs no code on load.

    The file holds the constructor parameters, every fitted attribute, the
    network (architecture and weights), the optimizer's state (so that
    ``partial_fit`` after :func:`load` continues exactly as it would have on
    the original), the random generators' states, the format and package
    versions and SHA-256 checksums. Arrays are stored as ``.npy`` members and
    everything else as JSON.

    The file is written to a temporary file in the same folder, flushed to
    disk, then moved over ``path`` in one step: a save interrupted at any
    moment (even by SIGKILL or a power cut) leaves the previous file intact.

    Parameters
    ----------
    estimator : MLPClassifier, MLPRegressor or LinearSVM
        Fitted.
    path : str or os.PathLike
        The file to write (conventionally ``*.skn``); replaced if it exists.

    Raises
    ------
    ValueError
        If the estimator is not fitted, or an attribute holds a value of a
        kind the format does not store (its name is in the message).
    TypeError
        If ``estimator`` is not one of the five estimators (the MLPs, the tabular MLPs, LinearSVM).
    """
    import sknumpynet

    meta, arrays = _encode_estimator(estimator)
    meta = {
        "format": _MAGIC,
        "format_version": FILE_FORMAT_VERSION,
        "sknumpynet_version": sknumpynet.__version__,
        "numpy_version": np.__version__,
        **meta,
    }
    members = {_META: json.dumps(meta, sort_keys=True).encode()}
    for i, a in enumerate(arrays):
        buf = _io.BytesIO()
        np.save(buf, a, allow_pickle=False)
        members[f"arrays/{i}.npy"] = buf.getvalue()
    checksums = {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}
    members[_CHECKSUMS] = json.dumps(checksums, sort_keys=True).encode()
    _atomic_write(os.fspath(path), members)


def _atomic_write(path, members):
    folder = os.path.dirname(os.path.abspath(path))
    _remove_stale_temporaries(folder, os.path.basename(path))
    fd, tmp = _create_temporary(folder, os.path.basename(path))
    try:
        with contextlib.suppress(FileNotFoundError):  # keep the mode of the file replaced
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as archive:
                for name, data in members.items():
                    archive.writestr(name, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _create_temporary(folder, name):
    """A new file ``.<name>.<pid>.<random>.tmp`` in ``folder``, open for writing.

    Created with mode 0o666 less the umask, as ``open`` would create ``name``
    (``tempfile.mkstemp`` would make it 0o600).
    """
    while True:
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def _remove_stale_temporaries(folder, name):
    """Delete temporaries of ``name`` left by saves whose process died (SIGKILL)."""
    pattern = re.compile(re.escape(f".{name}.") + r"([0-9]+)\.[A-Za-z0-9_]+\.tmp")
    for entry in os.listdir(folder):
        match = pattern.fullmatch(entry)
        if match and not _process_alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, entry))


def _process_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but is not ours
        return True
    return True


def _fsync_folder(folder):
    # makes the rename itself durable; not possible on every platform
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def load(path):
    """Load an estimator written by :func:`save`, without running any code from the file.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    estimator : MLPClassifier, MLPRegressor or LinearSVM
        Fitted, equal in every prediction to the saved one; ``partial_fit``
        continues bit for bit as it would have on the original.

    Raises
    ------
    ValueError
        If the file is not a sknumpynet model file (a pickle, say), was
        modified or damaged (a checksum differs), holds object arrays or
        unexpected members, names types outside the whitelist, or was written
        in a newer format.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    if not zipfile.is_zipfile(_io.BytesIO(data)):
        hint = " (it looks like a pickle, which this function never loads)" if data[:1] in (
            b"\x80", b"(", b"]", b"}") else ""
        raise ValueError(f"{path} is not a sknumpynet model file{hint}.")
    try:
        members = _read_members(data)
        meta = _check_metadata(members)
        arrays = _read_arrays(members)
        return _decode_estimator(meta, arrays)
    except ValueError as exc:
        raise ValueError(f"Cannot load {path}: {exc}") from None
    except (KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise ValueError(f"Cannot load {path}: malformed model file ({exc!r}).") from None


def _read_members(data):
    members = {}
    with zipfile.ZipFile(_io.BytesIO(data)) as archive:
        for info in archive.infolist():
            name = info.filename
            if name not in (_META, _CHECKSUMS) and not _ARRAY_NAME.fullmatch(name):
                raise ValueError(f"unexpected archive member {name!r}")
            if name in members:
                raise ValueError(f"duplicate archive member {name!r}")
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"archive member {name!r} is compressed")
            members[name] = archive.read(info)
    for required in (_META, _CHECKSUMS):
        if required not in members:
            raise ValueError(f"the archive has no {required}")
    checksums = json.loads(members.pop(_CHECKSUMS))
    if not isinstance(checksums, dict) or set(checksums) != set(members):
        raise ValueError("the checksums do not list exactly the archive's members")
    for name, content in members.items():
        if hashlib.sha256(content).hexdigest() != checksums[name]:
            raise ValueError(f"checksum mismatch for {name!r}: the file was modified or damaged")
    return members


def _check_metadata(members):
    meta = json.loads(members[_META])
    if not isinstance(meta, dict) or meta.get("format") != _MAGIC:
        raise ValueError("not a sknumpynet model file")
    version = meta.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"invalid format version {version!r}")
    if version > FILE_FORMAT_VERSION:
        raise ValueError(
            f"the file is in format {version}, written by sknumpynet "
            f"{meta.get('sknumpynet_version')}; this version reads format "
            f"{FILE_FORMAT_VERSION} and older. Upgrade sknumpynet."
        )
    return meta


def _read_arrays(members):
    names = [n for n in members if n != _META]
    count = len(names)
    arrays = []
    for i in range(count):
        name = f"arrays/{i}.npy"
        if name not in members:
            raise ValueError(f"the archive has no {name}")
        arrays.append(_read_npy(name, members[name]))
    return arrays


def _read_npy(name, data):
    """An array from ``.npy`` bytes, its header checked before anything is allocated."""
    fp = _io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except ValueError as exc:
        raise ValueError(f"{name} is not a valid .npy array ({exc})") from None
    if dtype.hasobject:
        raise ValueError(f"{name} cannot be read without pickle (it holds Python objects)")
    size = 1
    for n in shape:
        size *= int(n)
    if size * dtype.itemsize > len(data) - fp.tell():
        raise ValueError(f"{name} declares shape {shape}, more data than it holds")
    try:
        return np.load(_io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{name} cannot be read without pickle ({exc})") from None


def trusted_types():
    """The sknumpynet type names to trust when loading with ``skops.io``.

    Pass them to ``skops.io.load(path, trusted=sknumpynet.io.trusted_types())``
    to load a model (or a Pipeline holding one) saved with ``skops.io.dump``
    without trusting anything else: scikit-learn's and numpy's own types are
    trusted by skops by default.

    Returns
    -------
    names : list of str
        Fully qualified names (``module.Class``): the estimators, the
        engine's modules, its Parameter and its optimizers, the training
        record the estimators keep, and
        ``numpy.dtype``, which skops does not yet trust by default (the
        estimators and layers keep their dtype as an attribute).

    Examples
    --------
    >>> import skops.io  # doctest: +SKIP
    >>> from sknumpynet.io import trusted_types
    >>> skops.io.dump(pipeline, "model.skops")  # doctest: +SKIP
    >>> pipeline = skops.io.load("model.skops", trusted=trusted_types())  # doctest: +SKIP
    """
    classes = list(_estimator_classes().values())
    classes += [getattr(nn, n) for n in _MODULES + _OPTIMIZERS] + [nn.Parameter]
    classes += list(_record_classes().values())
    names = {f"{c.__module__}.{c.__qualname__}" for c in classes}
    return sorted(names | {"numpy.dtype"})
