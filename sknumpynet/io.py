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
import struct
import zipfile
import zlib

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
    "MLPClassifier", "MLPRegressor", "LinearSVM", "LinearSVR", "TabularMLPClassifier",
    "TabularMLPRegressor",
)
#: Where estimators lived before a move, as skops files name them (loadable
#: through the old modules, which import the class from its new place).
_FORMER_PATHS = ("sknumpynet._svm.LinearSVM",)
#: The engine's modules a file may name (the activations: nn.ACTIVATIONS'),
#: and the optimizers (nn.OPTIMIZERS').
_MODULES = (
    "Sequential", "Linear", "Dropout", "BatchNorm1d", "Softmax",
    "Scale", "Embedding", "CategoricalEmbedding", "PeriodicEmbedding",
    *sorted({cls.__name__ for cls in nn.ACTIVATIONS.values()}),
)
_OPTIMIZERS = tuple(cls.__name__ for cls in nn.OPTIMIZERS.values())
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

    #: The dtype kinds of the arrays stored as ``.npy`` members.
    ARRAY_KINDS = "biufcUSMm"

    def __init__(self):
        self.arrays = []
        # generators by identity: two dropout layers drawing from one stream
        # must still share it after loading
        self.generators = {}

    def array(self, a):
        if a.dtype.hasobject:
            return self._object_array(a)
        if a.dtype.kind not in self.ARRAY_KINDS:
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
            return _scalar(_plain_dtype(d["dtype"], "biufU"), d["value"])
        if kind == "dtype":
            return _plain_dtype(d["str"])
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
            try:
                rs.set_state(state)
            except (OverflowError, TypeError, KeyError) as exc:  # numbers out of range
                raise ValueError(f"the random_state is out of range or malformed ({exc})") from None
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
        # a record class may still read the fields of older files (_LEGACY)
        names = {f.name for f in dataclasses.fields(cls) if f.init} | set(
            getattr(cls, "_LEGACY", ())
        )
        unknown = set(d["fields"]) - names
        if unknown:
            raise ValueError(f"{d['type']} has no fields {sorted(unknown)}")
        build = getattr(cls, "from_fields", cls)
        return build(**{k: self.value(v) for k, v in d["fields"].items()})

    def array(self, index):
        if not isinstance(index, int) or not 0 <= index < len(self.arrays):
            raise ValueError(f"array index {index!r} is out of range")
        return self.arrays[index]

    def object_array(self, d):
        items = [self.value(x) for x in d["items"]]
        if any(not isinstance(v, (str, bool, int, float)) for v in items):
            raise ValueError("object arrays may hold only str, int, float or bool")
        shape = d["shape"]
        if not isinstance(shape, list) or any(
            isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in shape
        ) or np.prod(shape, dtype=object) != len(items):
            raise ValueError(f"object array shape {str(shape)[:80]} does not fit its "
                             f"{len(items)} items")
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out.reshape(shape)

    def bit_generator(self, state):
        state = self.value(state)
        name = state.get("bit_generator") if isinstance(state, dict) else None
        if name not in _BIT_GENERATORS:
            raise ValueError(f"unknown bit generator {name!r}; allowed: {_BIT_GENERATORS}")
        bitgen = getattr(np.random, name)()
        try:
            bitgen.state = state
        except (OverflowError, TypeError, KeyError) as exc:  # numbers out of range
            raise ValueError(f"the state of bit generator {name} is out of range or "
                             f"malformed ({exc})") from None
        return bitgen


def _plain_dtype(text, kinds="biufcUSMm"):
    """The dtype ``text`` resolves to, in native byte order, if it is a plain one of ``kinds``.

    Checked by what numpy makes of it, not by its spelling: ``"object"`` is
    ``"|O"``, ``"i4,f8"`` a structured (void) dtype, ``"(2,)f8"`` a subarray.
    """
    if not isinstance(text, str) or len(text) > 16:
        raise ValueError(f"dtype {str(text)[:40]!r} is not allowed")
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError, SyntaxError):
        raise ValueError(f"dtype {text!r} is not allowed (numpy does not read it)") from None
    if dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"dtype {text!r} is not allowed (it is {dtype})")
    # a file saved on a machine of the other byte order: its native is ours
    return dtype.newbyteorder("=") if dtype.byteorder in "<>" else dtype


def _scalar(dtype, value):
    """``dtype.type(value)`` if ``dtype`` holds ``value`` (a number or str), else ValueError."""
    kind = dtype.kind
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "b" and not isinstance(value, bool) or kind in "iu" and not (
        number and isinstance(value, int)
    ) or kind == "f" and not number or kind == "U" and not isinstance(value, str):
        raise ValueError(f"scalar {str(value)[:40]!r} is not a {dtype} value")
    if kind in "iu" and not np.iinfo(dtype).min <= value <= np.iinfo(dtype).max or (
        kind == "f" and abs(value) != float("inf") and abs(value) > float(np.finfo(dtype).max)
    ):
        raise ValueError(f"scalar {str(value)[:40]} is out of range for {dtype}")
    if kind == "U" and dtype.itemsize and len(value) > dtype.itemsize // 4:
        raise ValueError(f"scalar {value[:40]!r} is longer than {dtype} holds")
    return dtype.type(value)


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

    Raises
    ------
    ValueError
        If the state names a type outside the whitelist, or declares sizes
        that its arrays do not have (checked for the whole tree before any
        module is built, so a declared size costs no memory).
    """
    _, out_width = _check_module_tree(state, decoder)
    if out_width is not None and not out_width[1]:
        raise ValueError(f"the network's output width {out_width[0]} is not that of any "
                         "of its arrays")
    return _build_module(state, decoder)


def _module_args(state, decoder):
    """The class of a module state and its constructor arguments, decoded."""
    name = state.get("type")
    cls = _allowed_class(name, _MODULES, "module")
    allowed = set(_constructor_names(cls, skip=("modules",)))
    args = {}
    for arg, value in state["args"].items():
        if arg not in allowed:
            raise ValueError(f"{name} has no constructor argument {arg!r}")
        if arg == "init" or value is None:
            continue
        args[arg] = value if arg == "bias" else decoder.value(value)
    return cls, args


def _size(args, name, owner):
    value = args.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner} {name} {str(value)[:40]} is not a positive integer")
    return value


def _sizes(args, name, owner):
    values = args.get(name)
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"{owner} {name} is not a list")
    return [_size({name: v}, name, owner) for v in values]


def _declared_shapes(name, args):
    """The shapes of the parameters and of the buffers that module ``name`` built
    from ``args`` allocates, computed without building it."""
    if name == "Linear":
        n_in, n_out = _size(args, "in_features", name), _size(args, "out_features", name)
        return [(n_in, n_out)] + ([(n_out,)] if args.get("bias", True) else []), []
    if name in ("BatchNorm1d", "Scale"):
        n = _size(args, "num_features", name)
        return ([(n,), (n,)], [(n,), (n,)]) if name == "BatchNorm1d" else ([(n,)], [])
    if name == "Embedding":
        return [(_size(args, "num_embeddings", name), _size(args, "embedding_dim", name))], []
    if name == "CategoricalEmbedding":
        cards = _sizes(args, "cardinalities", name)
        dims = _sizes(args, "embedding_dims", name)
        if len(cards) != len(dims):
            raise ValueError(f"{name} has {len(cards)} cardinalities but {len(dims)} "
                             "embedding_dims")
        return list(zip(cards, dims)), []
    if name == "PeriodicEmbedding":
        c = len(_periodic_columns(args))
        f, d = _size(args, "n_frequencies", name), _size(args, "embedding_dim", name)
        return [(c, f), (c, f), (c, f, d), (c, d)], []
    return [], []  # the activations, Dropout, Identity and Sequential own no arrays


def _periodic_columns(args):
    columns = args.get("columns")
    if not isinstance(columns, (list, tuple)) or not columns or not all(
        isinstance(c, int) and not isinstance(c, bool) for c in columns
    ):
        raise ValueError("PeriodicEmbedding columns is not a non-empty list of integers")
    return columns


def _check_declared(owner, shapes, encoded, decoder, what):
    if not isinstance(encoded, list) or len(encoded) != len(shapes):
        raise ValueError(f"{owner} has {len(shapes)} {what}s, the file lists "
                         f"{len(encoded) if isinstance(encoded, list) else encoded!r}")
    for shape, enc in zip(shapes, encoded):
        array = decoder.value(enc)
        if not isinstance(array, np.ndarray) or array.shape != shape:
            raise ValueError(f"{owner} declares a {what} of shape {shape}, the file's array "
                             f"has shape {getattr(array, 'shape', type(array).__name__)}")


def _check_module_tree(state, decoder):
    """Check the declared sizes of a module tree against its arrays, building nothing.

    Returns the tree's input and output widths, each None (it passes its input
    through) or ``(width, backed)``: ``backed`` when the width is that of
    one of its arrays. A width no array backs (a CategoricalEmbedding's) must
    meet a backed one further on, so that every size is bounded by the file.
    """
    cls, args = _module_args(state, decoder)
    name = cls.__name__
    params, buffers = _declared_shapes(name, args)
    _check_declared(name, params, state["parameters"], decoder, "parameter")
    _check_declared(name, buffers, state["buffers"], decoder, "buffer")
    if not isinstance(state["children"], list) or (state["children"] and name != "Sequential"):
        raise ValueError(f"{name} cannot have children")
    if name == "Linear":
        return (params[0][0], True), (params[0][1], True)
    if name in ("BatchNorm1d", "Scale"):
        return (params[0][0], True), (params[0][0], True)
    if name == "Embedding":
        return None, (params[0][1], True)
    if name == "CategoricalEmbedding":
        n_features, columns = _size(args, "n_features", name), args.get("columns")
        if not isinstance(columns, (list, tuple)) or len(columns) != len(params):
            raise ValueError(f"{name} needs one column per embedding")
        width = n_features - len(columns) + sum(d for _, d in params)
        return (n_features, False), (width, False)
    if name == "PeriodicEmbedding":
        n_features = _size(args, "n_features", name)
        width = n_features + params[3][0] * params[3][1]
        return (n_features, False), (width, False)
    if name != "Sequential":
        return None, None
    first, current = None, None
    for child in state["children"]:
        child_in, child_out = _check_module_tree(child, decoder)
        if child_in is not None:
            if current is not None and current[0] != child_in[0]:
                raise ValueError(f"a {child['type']} of input width {child_in[0]} follows a "
                                 f"layer of output width {current[0]}")
            first = first or child_in
        current = child_out or current
    return first, current


def _build_module(state, decoder):
    cls, args = _module_args(state, decoder)
    name = cls.__name__
    children = [_build_module(c, decoder) for c in state["children"]]
    allowed = set(_constructor_names(cls, skip=("modules",)))
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
            f"save supports {', '.join(_ESTIMATORS)}; got {cls.__module__}.{cls.__qualname__}. "
            "To save a Pipeline or any other scikit-learn object holding them, use skops: "
            "skops.io.dump(obj, path), then skops.io.load(path, "
            "trusted=sknumpynet.io.trusted_types())."
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
    _check_format_version(name, fitted.get("_format_version"))
    # through __setstate__, as unpickling: the estimator's own checks and
    # upgrades of older fitted layouts (its _format_version) apply here too
    estimator.__setstate__({**vars(estimator), **fitted})
    _check_outputs(vars(estimator))
    return estimator


def _check_format_version(name, version):
    from ._base import FORMAT_VERSION

    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise _FileError(f"the {name} was saved in its format {version} by a newer sknumpynet; "
                         f"this version reads format {FORMAT_VERSION}. Upgrade sknumpynet")


def _output_width(module):
    """The number of columns ``module`` outputs, or None if it keeps its input's."""
    if isinstance(module, nn.Sequential):
        return next((w for w in map(_output_width, reversed(list(module))) if w is not None),
                    None)
    for attr in ("out_features", "n_features_out", "num_features", "embedding_dim"):
        if isinstance(getattr(module, attr, None), int):
            return getattr(module, attr)
    return None


def _check_outputs(state):
    """The estimator's own invariants: its classes, quantiles and targets against the
    width of its network's output."""
    network = state.get("network_")
    if not isinstance(network, nn.Module):
        raise ValueError("the estimator's network_ is not a network")
    width = _output_width(network)
    n_outputs = state.get("n_outputs_")
    if n_outputs is not None and n_outputs != width:
        raise ValueError(f"n_outputs_ is {n_outputs!r} but the network has {width} outputs")
    if "classes_" in state:
        _check_classes(state["classes_"], state.get("_label_kind"), width)
    for attr in ("quantiles_", "y_mean_", "y_scale_"):
        value = state.get(attr)
        if value is not None and np.shape(value) != (width,):
            raise ValueError(f"{attr} has shape {np.shape(value)} but the network has "
                             f"{width} outputs")


def _check_classes(classes, label_kind, width):
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 2:
        raise ValueError(f"classes_ must be a 1-D array of at least 2 classes, the file has "
                         f"{str(classes)[:80]}")
    try:
        unique = np.unique(classes)
    except TypeError:  # labels of types that do not compare
        unique = classes[:0]
    if len(unique) != len(classes) or not (unique == classes).all():
        raise ValueError(f"classes_ {str(classes)[:80]} are not sorted and distinct")
    n_classes = len(classes)
    if label_kind == "binary":
        expected = (1,) if n_classes == 2 else ()
    elif label_kind in ("multiclass", "multilabel"):
        expected = (n_classes,)
    elif label_kind is None:  # LinearSVM: one score column for two classes, or one per class
        expected = (1, 2) if n_classes == 2 else (n_classes,)
    else:
        raise ValueError(f"unknown _label_kind {label_kind!r}")
    if width not in expected:
        raise ValueError(f"{n_classes} classes_ ({label_kind or 'labels'}) do not match the "
                         f"network's {width} outputs")


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
    estimator : MLPClassifier, MLPRegressor, LinearSVM or LinearSVR
        Fitted.
    path : str or os.PathLike
        The file to write (conventionally ``*.skn``); replaced if it exists.

    Raises
    ------
    ValueError
        If the estimator is not fitted, or an attribute holds a value of a
        kind the format does not store (its name is in the message).
    TypeError
        If ``estimator`` is not one of the six estimators (the MLPs, the tabular MLPs,
        LinearSVM, LinearSVR).
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
    estimator : MLPClassifier, MLPRegressor, LinearSVM or LinearSVR
        Fitted, equal in every prediction to the saved one; ``partial_fit``
        continues bit for bit as it would have on the original.

    Raises
    ------
    ValueError
        Whatever is wrong with the file, in a message that names the file and
        says whether it is damaged (cut short, a flipped bit: a CRC or a
        checksum differs, the zip's headers disagree), not a sknumpynet model
        file (a pickle, another program's zip), or inconsistent in a way
        :func:`save` never writes (crafted, possibly hostile: overlapping
        members, sizes its arrays do not have, numbers out of range, object
        or structured dtypes, classes that do not match the network's
        outputs); or written in a newer format. Everything is checked against
        the file's own size and declarations before anything larger is
        allocated; see :doc:`/reliability`.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    try:
        members = _read_members(data)
        meta = _check_metadata(members)
        arrays = _read_arrays(members)
        return _decode_estimator(meta, arrays)
    except _FileError as exc:
        raise ValueError(f"Cannot load {path}: {exc}.") from None
    except ValueError as exc:
        raise ValueError(f"Cannot load {path}: {exc} ({_NOT_OURS}).") from None
    except (KeyError, TypeError, AttributeError, IndexError, RecursionError,
            OverflowError) as exc:
        raise ValueError(f"Cannot load {path}: malformed model file ({exc!r}; "
                         f"{_NOT_OURS}).") from None


class _FileError(ValueError):
    """A refusal whose message says already what is wrong with the file."""


_NOT_OURS = (
    "the file is intact, its checksums match, but sknumpynet.save does not write this: "
    "another program or version wrote it, or it was crafted and may be hostile"
)


def _damaged(detail):
    return _FileError(f"the file is damaged: {detail}; restore it from a copy or save the "
                      "model again")


def _hostile(detail):
    return _FileError(f"{detail}: sknumpynet.save never writes this; the file was crafted, "
                      "possibly to be hostile (to exhaust memory), and is refused before "
                      "its members are read")


def _not_a_model_file(detail):
    return _FileError(f"the file is not a sknumpynet model file ({detail})")


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile.structFileHeader


def _open_archive(data):
    """The archive's members in file order, and where its central directory starts."""
    if not zipfile.is_zipfile(_io.BytesIO(data)):
        if data[:4] == b"PK\x03\x04":
            raise _damaged("it is cut short, or its end is overwritten (what remains is not a "
                           "sknumpynet model file that can be read)")
        pickle = data[:1] in (b"\x80", b"(", b"]", b"}")
        raise _not_a_model_file("it looks like a pickle, which this function never loads"
                                if pickle else "not a zip archive")
    try:
        with zipfile.ZipFile(_io.BytesIO(data)) as archive:
            infos, start_dir = archive.infolist(), archive.start_dir
    except (zipfile.BadZipFile, NotImplementedError, EOFError, struct.error, ValueError,
            OverflowError) as exc:
        raise _damaged(f"its zip directory cannot be read ({exc})") from None
    if not start_dir <= len(data):
        raise _damaged("its zip directory lies beyond the end of the file")
    # zipfile reads entries until the directory's size is used up: a damaged length
    # field hides the entries after it, which only the end record's count shows
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 0xFFFF))
    (entries,) = struct.unpack_from("<H", data, end + 10)
    if entries not in (0xFFFF, len(infos)):
        raise _damaged(f"its zip directory lists {entries} members but holds {len(infos)}")
    return infos, start_dir


def _member_span(data, info, start_dir):
    """Where ``info``'s local header starts and its data start and end, checked.

    The local header repeats the central directory's entry: a flipped bit
    makes them disagree (damage); a file whose headers agree but whose members
    overlap or run past the central directory was made so (hostile).
    """
    name, start = info.orig_filename, info.header_offset
    if not 0 <= start <= start_dir - _LOCAL_HEADER.size:
        raise _damaged(f"the zip directory puts member {name!r} outside the file")
    (magic, version, _, flags, method, _, _, crc, compressed, size, name_len,
     extra_len) = _LOCAL_HEADER.unpack_from(data, start)
    begin = start + _LOCAL_HEADER.size
    local_name = data[begin:begin + name_len].decode(
        "utf-8" if flags & 0x800 else "cp437", errors="replace")
    # the CRC and sizes may come after the data, or the sizes in a zip64 extra field
    # (numpy.savez); save writes neither
    descriptor = flags & 0x08 or compressed == size == 0xFFFFFFFF
    if magic != b"PK\x03\x04" or (local_name, version, flags, method) != (
        name, info.extract_version, info.flag_bits, info.compress_type
    ) or not descriptor and (crc, compressed, size) != (
        info.CRC, info.compress_size, info.file_size
    ):
        raise _damaged(f"the local header of member {name!r} does not match the zip directory")
    data_start = begin + name_len + extra_len
    data_end = data_start + info.compress_size
    # save writes the same extra field in both headers; other programs may not, which
    # is harmless unless the member's data then runs into another's
    same_extra = extra_len == len(info.extra)
    if data_end > start_dir:
        raise _hostile(f"member {name!r} declares {info.compress_size} bytes, which run "
                       "beyond the end of the members") if same_extra else _damaged(
            f"the local header of member {name!r} puts its data beyond the end of the members")
    return start, data_end, data_start, same_extra


def _read_members(data):
    """The members' contents, every size and offset checked before any is read."""
    infos, start_dir = _open_archive(data)
    spans = sorted(((*_member_span(data, info, start_dir), info) for info in infos),
                   key=lambda span: span[:3])
    for (_, end, _, same, info), (start, _, _, same_after, after) in zip(spans, spans[1:]):
        if start < end:
            names = f"members {info.orig_filename!r} and {after.orig_filename!r}"
            raise _hostile(f"{names} overlap (a zip bomb)") if same and same_after else _damaged(
                f"{names} overlap, their local headers do not match the zip directory")
    names = [info.orig_filename for info in infos]
    if _META not in names:
        raise _not_a_model_file(f"a zip archive without {_META}, holding "
                                f"{', '.join(map(repr, names[:5]))}")
    members, total = {}, 0
    for _, end, begin, _, info in spans:
        name = info.orig_filename
        if name not in (_META, _CHECKSUMS) and not _ARRAY_NAME.fullmatch(name):
            raise ValueError(f"unexpected archive member {name!r}")
        if name in members:
            raise _hostile(f"archive member {name!r} is there twice")
        if info.compress_type != zipfile.ZIP_STORED:
            raise _not_a_model_file(f"archive member {name!r} is compressed")
        if info.file_size != info.compress_size:
            raise _hostile(f"stored member {name!r} declares {info.file_size} bytes in "
                           f"{info.compress_size}")
        if info.flag_bits & 0x01:
            raise _not_a_model_file(f"archive member {name!r} is encrypted")
        total += end - begin
        if total > len(data):  # cannot happen after the checks above; a last guard
            raise _hostile("the members hold more bytes than the file")
        members[name] = data[begin:end]
        if zlib.crc32(members[name]) != info.CRC:
            raise _damaged(f"member {name!r} fails its CRC")
    if _CHECKSUMS not in members:
        raise ValueError(f"the archive has no {_CHECKSUMS}")
    checksums = json.loads(members.pop(_CHECKSUMS))
    if not isinstance(checksums, dict) or set(checksums) != set(members):
        raise ValueError("the checksums do not list exactly the archive's members")
    for name, content in members.items():
        if hashlib.sha256(content).hexdigest() != checksums[name]:
            raise _FileError(f"checksum mismatch for {name!r}: the file was modified after it "
                             "was saved, or damaged")
    return members


def _check_metadata(members):
    meta = json.loads(members[_META])
    if not isinstance(meta, dict) or meta.get("format") != _MAGIC:
        raise _not_a_model_file(f"its {_META} does not say it is one")
    version = meta.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"invalid format version {version!r}")
    if version > FILE_FORMAT_VERSION:
        raise _FileError(
            f"the file is in format {version}, written by sknumpynet "
            f"{str(meta.get('sknumpynet_version'))[:40]}; this version reads format "
            f"{FILE_FORMAT_VERSION} and older. Upgrade sknumpynet"
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
    _plain_dtype(dtype.str, _Encoder.ARRAY_KINDS)  # refuses structured and subarray dtypes
    size = 1
    for n in shape:
        size *= int(n)
    if size * dtype.itemsize > len(data) - fp.tell():
        raise ValueError(f"{name} declares shape {shape}, more data than it holds")
    try:
        array = np.load(_io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{name} cannot be read without pickle ({exc})") from None
    if not array.dtype.isnative:  # saved on a machine of the other byte order
        array = array.astype(array.dtype.newbyteorder("="))
    return array


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
        record the estimators keep, the former paths of moved estimators
        (files saved before the move name them), and ``numpy.dtype``, which
        skops does not yet trust by default (the estimators and layers keep
        their dtype as an attribute).

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
    return sorted(names | set(_FORMER_PATHS) | {"numpy.dtype"})
