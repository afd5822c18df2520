"""ONNX export through skl2onnx: importing this module registers the converters.

After ``import sknumpynet.onnx``, ``skl2onnx.to_onnx(model, X[:1])`` converts
:class:`~sknumpynet.MLPClassifier`, :class:`~sknumpynet.MLPRegressor`,
:class:`~sknumpynet.LinearSVM`, :class:`~sknumpynet.LinearSVR`,
:class:`~sknumpynet.TabularMLPClassifier` and
:class:`~sknumpynet.TabularMLPRegressor`, alone or inside scikit-learn
Pipelines, and the graph runs in any ONNX runtime (e.g. ``onnxruntime``).

The tabular estimators' graph holds their preprocessing too
(:mod:`sknumpynet._onnx_tabular`). From a DataFrame sample, skl2onnx makes
one input of shape (N, 1) per column (text columns as strings); from an
array, one numeric matrix. Datetime columns do not export (ONNX has no such
type: give them as numbers), nor ``transform`` with
``embedding_layer="input"``.

The network is exported as it predicts: Dropout is the identity and each
BatchNorm1d is folded into the Linear layer before it. The graph computes in
the precision of its input (``float32`` for a ``float32`` sample, ``float64``
for ``float64``).

Options (``to_onnx(..., options={id(model) or type: {...}})``), as scikit-learn's
own converters have them:

- ``zipmap`` (classifiers; True, False or "columns", default True): the
  probabilities as a list of dicts (ZipMap) or, with False, as a tensor.
  Ignored for multilabel targets, whose probabilities are always a tensor.
- ``nocl`` (classifiers; default False): labels are the indices of the
  classes instead of the classes themselves.
- ``embeddings`` (MLPs; default False): an extra output ``embeddings`` with
  what :meth:`~sknumpynet.MLPClassifier.transform` returns.
- ``raw_scores`` (LinearSVM; default False): the second output holds the
  decision scores instead of the calibrated probabilities (always the case
  with ``probability=False``). For two classes the scores are ``[-d, d]``,
  ``d`` the decision function, as skl2onnx's ``LinearSVC`` converter.

Outputs of a classifier: ``label`` (int64 or string labels, or for multilabel
targets an int64 0/1 matrix) and ``probabilities``; of the regressors:
``variable`` of shape (n_samples, n_outputs) (one column for LinearSVR).
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

try:
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
        guess_proto_type,
        guess_tensor_type,
    )
    from skl2onnx.common.utils_classifier import get_label_classes
    from skl2onnx.proto import onnx_proto

    from ._compat import skl2onnx_private

    _private = skl2onnx_private()
    _INT64 = onnx_proto.TensorProto.INT64
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "sknumpynet.onnx needs skl2onnx and onnx: pip install skl2onnx onnx, or "
        "pip install '.[onnx]' from a clone of the repository."
    ) from exc

from . import nn
from ._linear_svm import LinearSVM, LinearSVR
from ._mlp import MLPClassifier, MLPRegressor
from ._onnx_tabular import OnnxGraph, emit_table
from ._tabular import BaseTabularMLP, TabularMLPClassifier, TabularMLPRegressor

__all__ = ["register"]

# skl2onnx's private helpers, through _compat
_apply_zipmap = _private.apply_zipmap
_get_sklearn_operator_name = _private.get_sklearn_operator_name
apply_cast, apply_concat, apply_reshape, apply_sub = (
    _private.apply_cast, _private.apply_concat, _private.apply_reshape, _private.apply_sub
)

_CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "embeddings": [False, True],
}


# -- the network ----------------------------------------------------------------


def _flat_modules(module):
    if isinstance(module, nn.Sequential):
        for child in module:
            yield from _flat_modules(child)
    else:
        yield module


def _initializer(scope, container, prefix, array, proto_dtype):
    name = scope.get_unique_variable_name(prefix)
    array = np.asarray(array, dtype=np.float64)
    container.add_initializer(name, proto_dtype, list(array.shape), array.ravel().tolist())
    return name


def _affine(scope, container, x, weight, bias, proto_dtype):
    """``x @ weight + bias`` as MatMul and Add nodes."""
    w = _initializer(scope, container, "coefficient", weight, proto_dtype)
    product = scope.get_unique_variable_name("mul_result")
    container.add_node("MatMul", [x, w], product, name=scope.get_unique_operator_name("MatMul"))
    if bias is None:
        return product
    b = _initializer(scope, container, "intercepts", np.reshape(bias, (1, -1)), proto_dtype)
    out = scope.get_unique_variable_name("add_result")
    container.add_node("Add", [product, b], out, name=scope.get_unique_operator_name("Add"))
    return out


def _batch_norm_affine(bn):
    """BatchNorm1d in evaluation mode as ``x * scale + shift`` (float64)."""
    scale = bn.gamma.value.astype(np.float64) / np.sqrt(
        bn.running_var.astype(np.float64) + bn.eps
    )
    shift = bn.beta.value.astype(np.float64) - bn.running_mean.astype(np.float64) * scale
    return scale, shift


def _emit_block(scope, container, block, x, proto_dtype):
    """Nodes for one block of modules; returns the name of its output."""
    modules = list(_flat_modules(block))
    i = 0
    while i < len(modules):
        m = modules[i]
        if isinstance(m, nn.Linear):
            after = modules[i + 1] if i + 1 < len(modules) else None
            bn = after if isinstance(after, nn.BatchNorm1d) else None
            x = _emit_linear(scope, container, m, bn, x, proto_dtype)
            i += 2 if bn is not None else 1
        else:
            x = _emit_module(scope, container, m, x, proto_dtype)
            i += 1
    return x


def _emit_periodic(g, m, x):
    """PeriodicEmbedding: cos(2 pi x w + b) @ V + c per column, after the input.

    MatMul broadcasts: (n, c, 1, f) @ (c, f, d) is each column's (1, f) @ (f, d).
    """
    c, f, d = len(m.columns), m.n_frequencies, m.embedding_dim
    picked = g.node("Gather", [x, g.const(np.asarray(m.columns, np.int64), _INT64)], axis=1)
    angle = g.node("Mul", [g.node("Reshape", [picked, g.const(np.array([-1, c, 1]), _INT64)]),
                           g.const(2 * np.pi * m.frequencies.value.astype(np.float64)[None])])
    cos = g.node("Cos", [g.node("Add", [angle, g.const(m.phases.value[None])])])
    cos = g.node("Reshape", [cos, g.const(np.array([-1, c, 1, f]), _INT64)])
    emb = g.node("Add", [g.node("MatMul", [cos, g.const(m.weight.value)]),
                         g.const(m.bias.value[:, None, :])])
    emb = g.node("Reshape", [emb, g.const(np.array([-1, c * d]), _INT64)])
    return g.node("Concat", [x, emb], axis=1)


def _emit_linear(scope, container, linear, bn, x, proto_dtype):
    """A Linear layer (NTK factor and a BatchNorm1d after it folded in) as MatMul, Add."""
    weight = linear.weight.value.astype(np.float64)
    if linear.parametrization == "ntk":
        weight = weight / np.sqrt(linear.in_features)
    bias = None if linear.bias is None else linear.bias.value.astype(np.float64)
    if bn is not None:
        scale, shift = _batch_norm_affine(bn)
        weight = weight * scale
        bias = shift if bias is None else bias * scale + shift
    return _affine(scope, container, x, weight, bias, proto_dtype)


def _emit_module(scope, container, m, x, proto_dtype):
    """Nodes for one module other than Linear; returns the name of its output."""
    if isinstance(m, (nn.Dropout, nn.Identity)):  # both the identity here
        return x
    if isinstance(m, nn.BatchNorm1d):
        scale, shift = _batch_norm_affine(m)
        return _affine(scope, container, x, np.diag(scale), shift, proto_dtype)
    if isinstance(m, nn.Scale):
        g = OnnxGraph(scope, container, proto_dtype)
        return g.node("Mul", [x, g.const([m.scale.value])])
    if isinstance(m, nn.PeriodicEmbedding):
        return _emit_periodic(OnnxGraph(scope, container, proto_dtype), m, x)
    emit = _ACTIVATIONS.get(type(m))
    if emit is None:
        raise NotImplementedError(
            f"No ONNX conversion for the module {type(m).__name__} of the network."
        )
    return emit(OnnxGraph(scope, container, proto_dtype), m, x)


def _gelu(g, m, x):
    """Exact GELU: ``0.5 x (1 + erf(x / sqrt(2)))``, as :class:`~sknumpynet.nn.GELU`."""
    erf = g.node("Erf", [g.node("Mul", [x, g.const(0.5**0.5)])])
    return g.node("Mul", [g.node("Mul", [x, g.const(0.5)]), g.node("Add", [erf, g.const(1.0)])])


def _selu(g, m, x):
    """``scale (max(x, 0) + alpha (exp(min(x, 0)) - 1))``: onnxruntime lacks Selu-22."""
    negative = g.node("Sub", [g.node("Exp", [g.node("Min", [x, g.const(0.0)])]), g.const(1.0)])
    total = g.node("Add", [g.node("Relu", [x]), g.node("Mul", [negative, g.const(m.alpha)])])
    return g.node("Mul", [total, g.const(m.scale)])


def _mish(g, m, x):
    """``x tanh(softplus(x))``, softplus as ``max(x, 0) + log(1 + exp(-|x|))`` (no overflow)."""
    decay = g.node("Exp", [g.node("Neg", [g.node("Abs", [x])])])
    tail = g.node("Log", [g.node("Add", [g.const(1.0), decay])])
    softplus = g.node("Add", [g.node("Relu", [x]), tail])
    return g.node("Mul", [x, g.node("Tanh", [softplus])])


#: Each activation's nodes: ``emit(graph, module, x)`` returns the output's name.
_ACTIVATIONS = {
    nn.ReLU: lambda g, m, x: g.node("Relu", [x]),
    nn.Tanh: lambda g, m, x: g.node("Tanh", [x]),
    nn.Sigmoid: lambda g, m, x: g.node("Sigmoid", [x]),
    nn.LeakyReLU: lambda g, m, x: g.node("LeakyRelu", [x], alpha=float(m.negative_slope)),
    nn.SELU: _selu,
    nn.SiLU: lambda g, m, x: g.node("Mul", [x, g.node("Sigmoid", [x])]),
    nn.Mish: _mish,
    nn.GELU: _gelu,
}


def _cast_input(scope, operator, container):
    """The input cast to the graph's precision: (name, proto dtype), double or float."""
    proto_dtype = guess_proto_type(operator.inputs[0].type)
    if proto_dtype != onnx_proto.TensorProto.DOUBLE:
        proto_dtype = onnx_proto.TensorProto.FLOAT
    x = scope.get_unique_variable_name("cast_input")
    apply_cast(scope, operator.inputs[0].full_name, x, container, to=proto_dtype)
    return x, proto_dtype


def _network_outputs(scope, operator, container, network):
    """Run the network in the graph: (output name, hidden block outputs, proto dtype)."""
    model = operator.raw_operator
    if isinstance(model, BaseTabularMLP):
        return _tabular_outputs(scope, operator, container, model)
    x, proto_dtype = _cast_input(scope, operator, container)
    outputs = []
    for block in network:
        x = _emit_block(scope, container, block, x, proto_dtype)
        outputs.append(x)
    return outputs[-1], outputs[:-1], proto_dtype


def _tabular_outputs(scope, operator, container, model):
    """The preprocessing (see :mod:`sknumpynet._onnx_tabular`), then the network."""
    if container.target_opset < 12:
        raise ValueError(
            f"{type(model).__name__}'s graph compares float64 values (Equal, Clip), which "
            f"needs target_opset >= 12; got {container.target_opset}."
        )
    proto_dtype = guess_proto_type(_output_type(operator.inputs))
    network = list(model.network_)
    embedding = network[0] if isinstance(network[0], nn.CategoricalEmbedding) else None
    names = getattr(model, "feature_names_in_", None)
    table = emit_table(scope, operator, container, model.column_plan_, embedding, names)
    x = scope.get_unique_variable_name("cast_input")
    apply_cast(scope, table, x, container, to=proto_dtype)
    hidden = []
    for module in network[1 if embedding is not None else 0:]:
        x = _emit_block(scope, container, module, x, proto_dtype)
        if isinstance(module, nn.Sequential):  # a hidden block
            hidden.append(x)
    return x, hidden[:len(model._hidden_sizes())], proto_dtype


def _output_type(inputs):
    """The tensor type of the outputs: float64 if an input is, else float32."""
    if any(isinstance(x.type, DoubleTensorType) for x in inputs):
        return DoubleTensorType()
    if len(inputs) == 1:
        return guess_tensor_type(inputs[0].type)
    return FloatTensorType()


def _emit_embeddings(scope, container, model, hidden, output):
    if not hidden:
        raise ValueError("transform (embeddings=True) needs at least one hidden layer.")
    if model.embedding_layer == "input":
        raise ValueError("embeddings=True exports hidden layers; embedding_layer='input' "
                         "(the encoded table) does not export.")
    if model.embedding_layer == "all":
        apply_concat(scope, hidden, output, container, axis=1)
    else:
        _identity(scope, container, hidden[model.embedding_layer % len(hidden)], output)


# -- labels ------------------------------------------------------------------------


def _label_classes(scope, model):
    """Class labels as ONNX holds them: (numpy array, proto type)."""
    classes = np.asarray(get_label_classes(scope, model))
    if classes.dtype.kind in "iub" or classes.dtype.kind == "f":
        return _int64_labels(classes), onnx_proto.TensorProto.INT64
    return np.array([str(c).encode("utf-8") for c in classes]), onnx_proto.TensorProto.STRING


def _int64_labels(classes):
    """Numeric class labels as int64, or a ValueError if one is not an int64 value."""
    if classes.dtype.kind in "ib" or (classes.dtype.kind == "u" and classes.dtype.itemsize < 8):
        return classes.astype(np.int64)
    info = np.iinfo(np.int64)
    # compared as Python numbers: uint64 above 2**63 - 1 would wrap to negative
    # int64, a float of 1e30 to anything
    bad = [c for c in classes.tolist() if c != int(c) or not info.min <= int(c) <= info.max]
    if bad:
        raise ValueError(
            "ONNX labels are int64 or strings, and the class labels "
            f"{bad[:5]}{' ...' if len(bad) > 5 else ''} are not int64 values "
            f"(classes_ of dtype {classes.dtype}). Export with the option nocl=True "
            "(labels are then the class indices; map them through classes_), or fit "
            "with labels that int64 holds."
        )
    return classes.astype(np.int64)


def _emit_labels(scope, container, model, index, output):
    """``classes[index]`` into ``output``; ``index`` is int64 of shape (n, 1)."""
    classes, proto = _label_classes(scope, model)
    name = scope.get_unique_variable_name("classes")
    content = classes.tolist() if proto == onnx_proto.TensorProto.INT64 else list(classes)
    container.add_initializer(name, proto, list(classes.shape), content)
    picked = scope.get_unique_variable_name("array_feature_extractor_result")
    container.add_node("ArrayFeatureExtractor", [name, index], picked, op_domain="ai.onnx.ml",
                       name=scope.get_unique_operator_name("ArrayFeatureExtractor"))
    apply_reshape(scope, picked, output, container, desired_shape=(-1,))


def _argmax(scope, container, scores):
    out = scope.get_unique_variable_name("argmax_output")
    container.add_node("ArgMax", [scores], out, axis=1, keepdims=1,
                       name=scope.get_unique_operator_name("ArgMax"))
    return out


def _positive(scope, container, scores, proto_dtype, to=onnx_proto.TensorProto.INT64):
    """``(scores > 0)`` cast to ``to``."""
    zero = _initializer(scope, container, "zero", np.zeros(1), proto_dtype)
    greater = scope.get_unique_variable_name("greater")
    container.add_node("Greater", [scores, zero], greater,
                       name=scope.get_unique_operator_name("Greater"))
    out = scope.get_unique_variable_name("positive")
    apply_cast(scope, greater, out, container, to=to)
    return out


def _two_columns(scope, container, column, proto_dtype, negate):
    """``[1 - p, p]`` (or ``[-p, p]`` with ``negate``) from a column ``p``."""
    base = _initializer(scope, container, "base", np.zeros(1) if negate else np.ones(1),
                        proto_dtype)
    other = scope.get_unique_variable_name("other_column")
    apply_sub(scope, [base, column], other, container, broadcast=1)
    out = scope.get_unique_variable_name("two_columns")
    apply_concat(scope, [other, column], out, container, axis=1)
    return out


def _identity(scope, container, x, output):
    container.add_node("Identity", [x], output, name=scope.get_unique_operator_name("Identity"))


def _sort_rows(scope, container, x, output, n_columns):
    """Each row of ``x`` in increasing order (TopK of all columns, smallest first).

    The monotone rearrangement of MLPRegressor's several quantiles, as its
    ``predict`` sorts them. TopK's ``largest`` attribute needs opset 11.
    """
    if container.target_opset < 11:
        raise RuntimeError(
            "Exporting MLPRegressor with several quantiles sorts each row with TopK "
            f"(largest=0), which needs target_opset >= 11; got {container.target_opset}."
        )
    k = scope.get_unique_variable_name("n_quantiles")
    container.add_initializer(k, onnx_proto.TensorProto.INT64, [1], [int(n_columns)])
    indices = scope.get_unique_variable_name("sorted_indices")
    container.add_node("TopK", [x, k], [output, indices], axis=1, largest=0, sorted=1,
                       op_version=11, name=scope.get_unique_operator_name("TopK"))


def _softmax(scope, container, x, output):
    container.add_node("Softmax", [x], output, axis=1,
                       name=scope.get_unique_operator_name("Softmax"))


# -- converters ----------------------------------------------------------------------


def _convert_mlp_classifier(scope, operator, container):
    model = operator.raw_operator
    scores, hidden, proto_dtype = _network_outputs(scope, operator, container, model.network_)
    label, proba = operator.outputs[0].full_name, operator.outputs[1].full_name
    kind = model._label_kind
    if kind == "multiclass":
        _softmax(scope, container, scores, proba)
        _emit_labels(scope, container, model, _argmax(scope, container, scores), label)
    elif kind == "binary":
        p = scope.get_unique_variable_name("sigmoid")
        container.add_node("Sigmoid", [scores], p, name=scope.get_unique_operator_name("Sigmoid"))
        pair = _two_columns(scope, container, p, proto_dtype, negate=False)
        _identity(scope, container, pair, proba)
        _emit_labels(scope, container, model, _positive(scope, container, scores, proto_dtype),
                     label)
    else:  # multilabel: independent logistic outputs
        container.add_node("Sigmoid", [scores], proba,
                           name=scope.get_unique_operator_name("Sigmoid"))
        positive = _positive(scope, container, scores, proto_dtype)
        _identity(scope, container, positive, label)
    if len(operator.outputs) > 2:
        _emit_embeddings(scope, container, model, hidden, operator.outputs[2].full_name)


def _convert_mlp_regressor(scope, operator, container):
    model = operator.raw_operator
    out, hidden, _ = _network_outputs(scope, operator, container, model.network_)
    if getattr(model, "out_activation_", "identity") == "exp":  # loss="poisson": log link
        container.add_node("Exp", [out], operator.outputs[0].full_name,
                           name=scope.get_unique_operator_name("Exp"))
    elif model.__dict__.get("quantiles_") is not None:  # several quantiles: sorted rows
        _sort_rows(scope, container, out, operator.outputs[0].full_name, model.n_outputs_)
    else:
        _identity(scope, container, out, operator.outputs[0].full_name)
    if len(operator.outputs) > 1:
        _emit_embeddings(scope, container, model, hidden, operator.outputs[1].full_name)


def _convert_tabular_regressor(scope, operator, container):
    model = operator.raw_operator
    out, hidden, proto_dtype = _network_outputs(scope, operator, container, model.network_)
    g = OnnxGraph(scope, container, proto_dtype)
    scaled = g.node("Mul", [out, g.const([model.y_scale_])])
    _identity(scope, container, g.node("Add", [scaled, g.const([model.y_mean_])]),
              operator.outputs[0].full_name)
    if len(operator.outputs) > 1:
        _emit_embeddings(scope, container, model, hidden, operator.outputs[1].full_name)


def _convert_linear_svm(scope, operator, container):
    model = operator.raw_operator
    options = container.get_options(model, dict(raw_scores=False))
    x, proto_dtype = _cast_input(scope, operator, container)
    # the decision function: one column for two classes, else one per class
    scores = _affine(scope, container, x, model.coef_.T, model.intercept_, proto_dtype)
    label, proba = operator.outputs[0].full_name, operator.outputs[1].full_name
    binary = model.coef_.shape[0] == 1
    index = (_positive(scope, container, scores, proto_dtype) if binary
             else _argmax(scope, container, scores))
    _emit_labels(scope, container, model, index, label)
    temperature = model.__dict__.get("calibration_temperature_")
    if temperature is None or options["raw_scores"]:
        out = _two_columns(scope, container, scores, proto_dtype, negate=True) if binary else scores
        _identity(scope, container, out, proba)
        return
    # softmax(scores / T); for two classes softmax([0, d] / T) = [1 - p, p] with
    # p = sigmoid(d / T), see LinearSVM._scores_matrix
    inverse = _initializer(scope, container, "inverse_temperature",
                           np.array([1.0 / temperature]), proto_dtype)
    scaled = scope.get_unique_variable_name("scaled_scores")
    container.add_node("Mul", [scores, inverse], scaled, name=scope.get_unique_operator_name("Mul"))
    if not binary:
        _softmax(scope, container, scaled, proba)
        return
    p = scope.get_unique_variable_name("sigmoid")
    container.add_node("Sigmoid", [scaled], p, name=scope.get_unique_operator_name("Sigmoid"))
    pair = _two_columns(scope, container, p, proto_dtype, negate=False)
    _identity(scope, container, pair, proba)


def _convert_linear_svr(scope, operator, container):
    model = operator.raw_operator
    x, proto_dtype = _cast_input(scope, operator, container)
    weight = model.coef_.reshape(-1, 1)
    out = _affine(scope, container, x, weight, model.intercept_, proto_dtype)
    _identity(scope, container, out, operator.outputs[0].full_name)


# -- parsers and shapes --------------------------------------------------------------------


def _parse_classifier(scope, model, inputs, custom_parsers=None):
    check_is_fitted(model)  # before skl2onnx asks an unfitted model for its classes
    options = scope.get_options(model, dict(zipmap=True, embeddings=False))
    operator = scope.declare_local_operator(_get_sklearn_operator_name(type(model)), model)
    operator.inputs = list(inputs)
    label = scope.declare_local_variable("label", Int64TensorType())
    proba = scope.declare_local_variable("probabilities", _output_type(inputs))
    operator.outputs.extend([label, proba])
    extra = []
    if options.get("embeddings"):
        emb = scope.declare_local_variable("embeddings", _output_type(inputs))
        operator.outputs.append(emb)
        extra = [emb]
    multilabel = getattr(model, "_label_kind", None) == "multilabel"
    if options["zipmap"] is False or multilabel:
        return [label, proba] + extra
    return list(_apply_zipmap(options["zipmap"], scope, model, _output_type(inputs),
                              [label, proba])) + extra


def _parse_regressor(scope, model, inputs, custom_parsers=None):
    check_is_fitted(model)
    options = scope.get_options(model, dict(embeddings=False))
    operator = scope.declare_local_operator(_get_sklearn_operator_name(type(model)), model)
    operator.inputs = list(inputs)
    operator.outputs.append(
        scope.declare_local_variable("variable", _output_type(inputs))
    )
    if options["embeddings"]:
        operator.outputs.append(
            scope.declare_local_variable("embeddings", _output_type(inputs))
        )
    return list(operator.outputs)


def _embedding_width(model):
    return model._n_features_out


def _classifier_shapes(operator):
    model = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    tensor = _output_type(operator.inputs).__class__
    n_classes = len(model.classes_)
    if getattr(model, "_label_kind", None) == "multilabel":
        operator.outputs[0].type = Int64TensorType([n, n_classes])
    else:
        classes = np.asarray(get_label_classes(operator.scope_inst, model))
        string = classes.dtype.kind not in "iubf"
        operator.outputs[0].type = (StringTensorType if string else Int64TensorType)([n])
    operator.outputs[1].type = tensor([n, n_classes])
    if len(operator.outputs) > 2:
        operator.outputs[2].type = tensor([n, _embedding_width(model)])


def _regressor_shapes(operator):
    model = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    tensor = _output_type(operator.inputs).__class__
    operator.outputs[0].type = tensor([n, model.n_outputs_])
    if len(operator.outputs) > 1:
        operator.outputs[1].type = tensor([n, _embedding_width(model)])


def register():
    """Register the converters of the six estimators with skl2onnx.

    Called on import of :mod:`sknumpynet.onnx`; calling it again is harmless.
    """
    update_registered_converter(
        MLPClassifier, "SknumpynetMLPClassifier", _classifier_shapes, _convert_mlp_classifier,
        parser=_parse_classifier, options=_CLASSIFIER_OPTIONS,
    )
    update_registered_converter(
        LinearSVM, "SknumpynetLinearSVM", _classifier_shapes, _convert_linear_svm,
        parser=_parse_classifier,
        options={**_CLASSIFIER_OPTIONS, "embeddings": [False], "raw_scores": [False, True]},
    )
    update_registered_converter(
        LinearSVR, "SknumpynetLinearSVR", _regressor_shapes, _convert_linear_svr,
        parser=_parse_regressor, options={"embeddings": [False]},
    )
    update_registered_converter(
        MLPRegressor, "SknumpynetMLPRegressor", _regressor_shapes, _convert_mlp_regressor,
        parser=_parse_regressor, options={"embeddings": [False, True]},
    )
    update_registered_converter(
        TabularMLPClassifier, "SknumpynetTabularMLPClassifier", _classifier_shapes,
        _convert_mlp_classifier, parser=_parse_classifier, options=_CLASSIFIER_OPTIONS,
    )
    update_registered_converter(
        TabularMLPRegressor, "SknumpynetTabularMLPRegressor", _regressor_shapes,
        _convert_tabular_regressor, parser=_parse_regressor,
        options={"embeddings": [False, True]},
    )


register()
