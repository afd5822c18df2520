"""ONNX nodes for a tabular estimator's preprocessing (a fitted ColumnPlan).

The graph's inputs are the table's columns, as skl2onnx makes them from a
DataFrame sample (one input of shape (N, 1) per column: strings for text,
numbers for the others), or one numeric matrix of every column. The nodes
follow :meth:`sknumpynet._tabular_data.ColumnPlan.transform`, in float64:
median fill and missing indicators, one-hot categories (+1/-1 for two),
robust scaling and smooth clipping, and for the embedded categorical columns
their learned embedding (the network's
:class:`~sknumpynet.nn.CategoricalEmbedding`, zero for a missing or unknown
category). Categories are matched as text, as in Python: a number in a text
column is "1", not "1.0".
"""

import numpy as np
from skl2onnx.common.data_types import StringTensorType
from skl2onnx.proto import onnx_proto

from ._tabular_data import CLIP

__all__ = ["OnnxGraph", "emit_table"]

_DOUBLE = onnx_proto.TensorProto.DOUBLE
_INT64 = onnx_proto.TensorProto.INT64
#: Where the smooth clip's square would overflow: larger values clip to +-3.
_HUGE = 1e150


def emit_table(scope, operator, container, plan, embedding, names=None):
    """Nodes from the graph's inputs to the network's input matrix (float64).

    Parameters
    ----------
    scope, operator, container : skl2onnx conversion objects
    plan : ColumnPlan
    embedding : sknumpynet.nn.CategoricalEmbedding or None
        The network's first module when ``plan`` embeds columns.
    names : sequence of str or None, default=None
        The table's column names (``feature_names_in_``): inputs match by name.

    Returns
    -------
    name : str
        A float64 tensor of shape (N, n_dense + sum of the embedding widths).
    """
    g = OnnxGraph(scope, container)
    columns = _input_columns(g, operator.inputs, plan.n_columns, names)
    parts = []
    if plan.numeric:
        parts += _numeric(g, plan, [columns[j] for j in plan.numeric])
    codes = [_codes(g, columns[j], cats) for j, cats in zip(plan.categorical, plan.categories)]
    for i, (code, cats) in enumerate(zip(codes, plan.categories)):
        if i not in plan.embedded and len(cats):
            parts.append(_one_hot(g, code, len(cats)))
    out = [_smooth_clip(g, plan, g.node("Concat", parts, axis=1))] if parts else []
    for i, table in zip(plan.embedded, _tables(embedding)):
        out.append(_embed(g, codes[i], table))
    return out[0] if len(out) == 1 else g.node("Concat", out, axis=1)


class OnnxGraph:
    """Adds nodes and constants with unique names to a skl2onnx graph.

    Parameters
    ----------
    scope, container : skl2onnx conversion objects
    dtype : onnx TensorProto type, default=DOUBLE
        The type of the constants, unless ``const`` is given another.
    """

    def __init__(self, scope, container, dtype=_DOUBLE):
        self.scope, self.container, self.dtype = scope, container, dtype

    def node(self, op, inputs, domain="", **attrs):
        """Add an ``op`` node on ``inputs``; returns its output's name."""
        out = self.scope.get_unique_variable_name(op.lower())
        version = 2 if domain else None  # ai.onnx.ml's LabelEncoder with float keys
        self.container.add_node(op, inputs, out, op_domain=domain, op_version=version,
                                name=self.scope.get_unique_operator_name(op), **attrs)
        return out

    def const(self, array, dtype=None):
        """Add a constant (an initializer); returns its name."""
        dtype = self.dtype if dtype is None else dtype
        array = np.asarray(array)
        name = self.scope.get_unique_variable_name("const")
        values = array.ravel().tolist()
        self.container.add_initializer(name, dtype, list(array.shape), values)
        return name


def _input_columns(g, inputs, n_columns, names=None):
    """One (N, 1) tensor name per column of the table, and its ONNX type.

    With the table's column ``names`` (``feature_names_in_``), one input per
    column is matched by name, in any order; inputs none of whose names is a
    column's (named by hand in ``initial_types``) are taken in column order.
    """
    if len(inputs) == n_columns and n_columns > 1 and names is not None:
        by_name = {x.raw_name: x for x in inputs}
        missing = [n for n in names if n not in by_name]
        if len(missing) == n_columns:  # inputs named by hand (initial_types): by position
            return [(x.full_name, x.type) for x in inputs]
        if missing:
            raise ValueError(
                f"The model's columns are {list(names)}; the converter's inputs are "
                f"{list(by_name)} (missing {missing}). Give it a sample of the table."
            )
        return [(by_name[n].full_name, by_name[n].type) for n in names]
    if len(inputs) == n_columns:
        return [(x.full_name, x.type) for x in inputs]
    if len(inputs) == 1 and not isinstance(inputs[0].type, StringTensorType):
        x = inputs[0]
        return [(g.node("Gather", [x.full_name, g.const([j], _INT64)], axis=1), x.type)
                for j in range(n_columns)]
    raise ValueError(
        f"The model reads tables of {n_columns} columns: give the converter one input per "
        f"column (a DataFrame sample does that) or one numeric matrix; got {len(inputs)} "
        "inputs."
    )


def _numeric(g, plan, columns):
    """Median-filled numeric columns and the missing indicators."""
    for name, kind in columns:
        if isinstance(kind, StringTensorType):
            raise ValueError(f"Input {name!r} is text, but the model fitted it as a number.")
    x = g.node("Concat", [g.node("Cast", [name], to=_DOUBLE) for name, _ in columns], axis=1)
    missing = g.node("IsNaN", [x])
    filled = g.node("Where", [missing, g.const(plan.median.reshape(1, -1)), x])
    if not plan.indicated:
        return [filled]
    picked = g.node("Gather", [missing, g.const(plan.indicated, _INT64)], axis=1)
    return [filled, g.node("Cast", [picked], to=_DOUBLE)]


def _codes(g, column, categories):
    """The category index of each row (-1: missing or unknown), int64 of shape (N, 1)."""
    name, kind = column
    if not len(categories):
        return None
    if isinstance(kind, StringTensorType):
        return g.node("LabelEncoder", [name], domain="ai.onnx.ml",
                      keys_strings=[str(c) for c in categories],
                      values_int64s=list(range(len(categories))), default_int64=-1)
    values = [_number(c, name) for c in categories]
    if len(set(values)) < len(values):
        raise ValueError(
            f"Input {name!r} is numeric, but the model's categories of that column "
            f"({list(categories)}) are not distinct as numbers: give it as a string input."
        )
    return _number_codes(g, name, values)


def _number_codes(g, name, values):
    """Codes of a numeric input, compared in float64 as Python compares the numbers.

    ``Equal`` against every category gives a one-hot row (or none: NaN and
    unknown values); its product with ``1, ..., K`` minus one is the code.
    (float32 keys of a LabelEncoder would merge integers above 2**24.)
    """
    x = g.node("Cast", [name], to=_DOUBLE)
    hot = g.node("Cast", [g.node("Equal", [x, g.const([values])])], to=_DOUBLE)
    positions = g.const(np.arange(1, len(values) + 1, dtype=np.float64).reshape(-1, 1))
    code = g.node("Sub", [g.node("MatMul", [hot, positions]), g.const(1.0)])
    return g.node("Cast", [code], to=_INT64)


def _number(category, name):
    """A category as the number a numeric input holds for it."""
    if category in ("False", "True"):
        return float(category == "True")
    try:
        return float(category)
    except ValueError:
        raise ValueError(
            f"Input {name!r} is numeric, but the model fitted it as text (category "
            f"{category!r}): give that column as a string input."
        ) from None


def _one_hot(g, codes, size):
    """One column per category (all zero when unknown); +1/-1 in one for two."""
    hot = g.node("Cast", [g.node("Equal", [codes, g.const([list(range(size))], _INT64)])],
                 to=_DOUBLE)
    if size != 2:
        return hot
    first, second = (g.node("Gather", [hot, g.const([k], _INT64)], axis=1) for k in (0, 1))
    return g.node("Sub", [first, second])


def _smooth_clip(g, plan, dense):
    """``z / sqrt(1 + (z / 3)^2)`` of the robustly scaled columns."""
    z = g.node("Mul", [g.node("Sub", [dense, g.const([plan.center])]), g.const([plan.factor])])
    z = g.node("Clip", [z, g.const(-_HUGE), g.const(_HUGE)])
    ratio = g.node("Div", [z, g.const(CLIP)])
    root = g.node("Sqrt", [g.node("Add", [g.const(1.0), g.node("Mul", [ratio, ratio])])])
    return g.node("Div", [z, root])


def _tables(embedding):
    """The embedding tables, each with a zero row last for missing and unknown codes."""
    if embedding is None:
        return []
    return [np.vstack([e.weight.value.astype(np.float64), np.zeros((1, e.embedding_dim))])
            for e in embedding.embeddings]


def _embed(g, codes, table):
    """Rows of ``table`` by code; -1 picks its last (zero) row."""
    unknown = g.node("Less", [codes, g.const(0, _INT64)])
    index = g.node("Where", [unknown, g.const(table.shape[0] - 1, _INT64), codes])
    flat = g.node("Reshape", [index, g.const([-1], _INT64)])
    return g.node("Gather", [g.const(table), flat], axis=0)
