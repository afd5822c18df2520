"""Tests of the losses: values, gradients, sample weights, extremes and bad input."""

import math
import warnings

import numpy as np
import pytest

from sknumpynet.nn import (
    AbsoluteErrorLoss,
    CrossEntropy,
    HuberLoss,
    MSELoss,
    MultiClassHinge,
    PoissonLoss,
    QuantileLoss,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
    check_loss_gradients,
)

from .reference import central_difference

SHAPES = [(1, 2), (4, 3), (9, 5)]
SEEDS = [0, 1, 2]
HINGES = [
    (kind, squared, margin)
    for kind in MultiClassHinge.KINDS
    for squared in (False, True)
    for margin in (1.0, 0.5, 2.0)
]


def weights_or_none(use_weights, n, rng):
    if not use_weights:
        return None
    w = rng.uniform(0.1, 3.0, n)
    if n > 2:
        w[1] = 0.0  # zero weights are allowed as long as the sum is positive
    return w


def hinge_terms(scores, y, margin, kind):
    """The arguments of every max(0, .) of the hinge losses, per the docstring."""
    n, k = scores.shape
    if kind == "ovr":
        if k == 1:
            t = 2.0 * y - 1.0
            return margin - t * scores[:, 0]
        t = -np.ones((n, k))
        t[np.arange(n), y] = 1.0
        return (margin - t * scores).ravel()
    args = scores - scores[np.arange(n), y][:, None] + margin
    args[np.arange(n), y] = np.nan
    terms = [args[~np.isnan(args)]]
    if kind == "crammer_singer" and k > 2:
        top2 = -np.sort(-np.nan_to_num(args, nan=-np.inf), axis=1)[:, :2]
        terms.append(top2[:, 0] - top2[:, 1])  # ties between the two largest terms
    return np.concatenate(terms)


def hinge_problem(shape, margin, kind, rng):
    """Scores and classes whose hinge terms all lie at least 1e-3 from a kink."""
    n, k = shape
    for _ in range(1000):
        scores = rng.standard_normal((n, k)) * 1.5
        y = rng.integers(0, max(k, 2) if kind == "ovr" else k, n)
        if np.min(np.abs(hinge_terms(scores, y, margin, kind))) > 1e-3:
            return scores, y
    raise RuntimeError("could not draw scores away from the kinks")


# ---------------------------------------------------------------- gradient checks


@pytest.mark.parametrize("use_weights", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_cross_entropy_gradients(shape, seed, use_weights):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal(shape) * 2
    y = rng.integers(0, shape[1], shape[0])
    w = weights_or_none(use_weights, shape[0], rng)
    assert check_loss_gradients(SoftmaxCrossEntropy(), scores, y, w) < 1e-6


@pytest.mark.parametrize("use_weights", [False, True])
@pytest.mark.parametrize("one_hot", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_cross_entropy_gradients(shape, seed, one_hot, use_weights):
    rng = np.random.default_rng(seed)
    # probabilities away from 0 (where -log p has a huge curvature)
    p = rng.uniform(0.05, 1.0, shape)
    p /= p.sum(axis=1, keepdims=True)
    y = rng.integers(0, shape[1], shape[0])
    target = np.eye(shape[1])[y] if one_hot else y
    w = weights_or_none(use_weights, shape[0], rng)
    assert check_loss_gradients(CrossEntropy(), p, target, w) < 1e-6


def test_cross_entropy_soft_targets_gradients():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.1, 1.0, (5, 3))
    t = rng.uniform(0.0, 1.0, (5, 3))
    t /= t.sum(axis=1, keepdims=True)
    assert check_loss_gradients(CrossEntropy(), p, t) < 1e-6


@pytest.mark.parametrize("use_weights", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES + [(6, 1)])
def test_sigmoid_binary_cross_entropy_gradients(shape, seed, use_weights):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal(shape) * 2
    target = (rng.random(shape) < 0.5).astype(float)
    w = weights_or_none(use_weights, shape[0], rng)
    assert check_loss_gradients(SigmoidBinaryCrossEntropy(), scores, target, w) < 1e-6


@pytest.mark.parametrize("use_weights", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES + [(5, 1)])
def test_mse_gradients(shape, seed, use_weights):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal(shape)
    target = rng.standard_normal(shape)
    w = weights_or_none(use_weights, shape[0], rng)
    assert check_loss_gradients(MSELoss(), scores, target, w) < 1e-6
    if shape[1] == 1:  # a 1-D target is read as one column
        assert check_loss_gradients(MSELoss(), scores, target.ravel(), w) < 1e-6


@pytest.mark.parametrize("use_weights", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(1, 2), (5, 3), (8, 4)])
@pytest.mark.parametrize("kind, squared, margin", HINGES)
def test_hinge_gradients(kind, squared, margin, shape, seed, use_weights):
    rng = np.random.default_rng(seed)
    scores, y = hinge_problem(shape, margin, kind, rng)
    w = weights_or_none(use_weights, shape[0], rng)
    loss = MultiClassHinge(margin=margin, kind=kind, squared=squared)
    assert check_loss_gradients(loss, scores, y, w) < 1e-6


@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_binary_ovr_hinge_gradients_with_one_column(seed, squared):
    rng = np.random.default_rng(seed)
    scores, y = hinge_problem((7, 1), 1.0, "ovr", rng)
    loss = MultiClassHinge(kind="ovr", squared=squared)
    assert check_loss_gradients(loss, scores, y, rng.uniform(0.5, 2, 7)) < 1e-6


def test_softmax_cross_entropy_against_independent_reference():
    rng = np.random.default_rng(7)
    scores = rng.standard_normal((6, 4)) * 2
    y = rng.integers(0, 4, 6)
    loss = SoftmaxCrossEntropy()
    value = loss(scores, y)
    grad = loss.backward().copy()

    # value: -log(exp(s_y) / sum_k exp(s_k)), averaged, in plain Python
    per_row = [
        -math.log(math.exp(row[c]) / sum(math.exp(v) for v in row))
        for row, c in zip(scores.tolist(), y.tolist())
    ]
    assert value == pytest.approx(sum(per_row) / 6, rel=1e-12)

    # gradient by our own central differences of the loss value
    numeric = central_difference(lambda: SoftmaxCrossEntropy()(scores, y), scores)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    # and the closed form (softmax - onehot) / n, computed here
    e = np.exp(scores)
    closed = (e / e.sum(axis=1, keepdims=True) - np.eye(4)[y]) / 6
    np.testing.assert_allclose(grad, closed, rtol=1e-10, atol=1e-15)


# ------------------------------------------------------------------------- values


def test_cross_entropy_values_int_and_one_hot_agree():
    p = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    y = np.array([0, 2])
    expected = -(math.log(0.7) + math.log(0.5)) / 2
    assert CrossEntropy()(p, y) == pytest.approx(expected, rel=1e-12)
    assert CrossEntropy()(p, np.eye(3)[y]) == pytest.approx(expected, rel=1e-12)
    loss = CrossEntropy()
    loss(p, y)
    np.testing.assert_allclose(loss.backward(), [[-1 / 0.7 / 2, 0, 0], [0, 0, -1 / 0.5 / 2]])


def test_cross_entropy_zero_probability_is_large_but_finite():
    loss = CrossEntropy()
    value = loss(np.array([[0.0, 1.0]]), np.array([0]))
    assert math.isfinite(value) and value > 30
    assert np.isfinite(loss.backward()).all()


def test_sigmoid_binary_cross_entropy_values():
    scores = np.array([[0.3, -1.2], [2.0, 0.0]])
    t = np.array([[1.0, 0.0], [0.0, 1.0]])
    sig = 1 / (1 + np.exp(-scores))
    per_entry = -(t * np.log(sig) + (1 - t) * np.log(1 - sig))
    loss = SigmoidBinaryCrossEntropy()
    assert loss(scores, t) == pytest.approx(per_entry.sum(axis=1).mean(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), (sig - t) / 2, rtol=1e-12)


def test_mse_multi_output_values():
    scores = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]])
    target = np.array([[1.5, 2.0, 1.0], [1.0, 1.0, 4.0]])
    loss = MSELoss()
    # per row: mean over outputs; then mean over rows
    expected = ((0.25 + 0 + 4) / 3 + (1 + 4 + 0) / 3) / 2
    assert loss(scores, target) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(loss.backward(), 2 * (scores - target) / 3 / 2)


def hinge_reference(scores, y, margin, kind, squared):
    """Per-sample hinge losses written out with loops, from the docstring."""
    power = 2 if squared else 1
    losses = []
    for row, c in zip(scores.tolist(), y.tolist()):
        if kind == "ovr":
            if len(row) == 1:
                t = 1.0 if c == 1 else -1.0
                losses.append(max(0.0, margin - t * row[0]) ** power)
            else:
                losses.append(sum(
                    max(0.0, margin - (1.0 if j == c else -1.0) * s) ** power
                    for j, s in enumerate(row)
                ))
            continue
        hinges = [max(0.0, s - row[c] + margin) for j, s in enumerate(row) if j != c]
        if kind == "weston_watkins":
            losses.append(sum(h**power for h in hinges))
        else:
            losses.append(max(hinges) ** power)
    return np.array(losses)


@pytest.mark.parametrize("kind, squared, margin", HINGES)
def test_hinge_values(kind, squared, margin):
    rng = np.random.default_rng(11)
    scores, y = hinge_problem((12, 4), margin, kind, rng)
    w = rng.uniform(0.5, 2.0, 12)
    loss = MultiClassHinge(margin=margin, kind=kind, squared=squared)
    per_sample = hinge_reference(scores, y, margin, kind, squared)
    # a mix of met and violated margins
    terms = hinge_terms(scores, y, margin, "ovr" if kind == "ovr" else "weston_watkins")
    assert (terms > 0).any() and (terms < 0).any()
    assert loss(scores, y) == pytest.approx(per_sample.mean(), rel=1e-12)
    assert loss(scores, y, w) == pytest.approx(per_sample @ w / w.sum(), rel=1e-12)


@pytest.mark.parametrize("squared", [False, True])
def test_binary_ovr_hinge_values(squared):
    scores = np.array([[2.0], [0.3], [-0.5], [-3.0]])
    y = np.array([1, 1, 1, 0])
    # t = [+1, +1, +1, -1]; hinges max(0, 1 - t s) = [0, 0.7, 1.5, 0]
    hinges = np.array([0.0, 0.7, 1.5, 0.0])
    loss = MultiClassHinge(kind="ovr", squared=squared)
    expected = np.mean(hinges**2 if squared else hinges)
    assert loss(scores, y) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("kind", MultiClassHinge.KINDS)
def test_hinge_is_zero_when_margins_are_met(kind):
    scores = np.array([[5.0, -5.0, -5.0], [-5.0, -5.0, 5.0]])
    loss = MultiClassHinge(kind=kind)
    assert loss(scores, np.array([0, 2])) == 0.0
    assert not loss.backward().any()


# --------------------------------------------------------------- sample weights


@pytest.mark.parametrize(
    "loss, target",
    [
        (SoftmaxCrossEntropy(), np.array([0, 2, 1])),
        (MSELoss(), np.array([[0.5, -1.0, 2.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0]])),
        (MultiClassHinge(kind="crammer_singer", squared=True), np.array([1, 0, 2])),
    ],
    ids=["softmax_ce", "mse", "hinge"],
)
def test_sample_weight_of_two_equals_a_duplicated_row(loss, target):
    scores = np.array([[0.1, 0.5, -0.3], [1.0, -2.0, 0.4], [0.0, 0.2, 0.9]])
    weighted = loss(scores, target, np.array([2.0, 1.0, 1.0]))
    grad_weighted = loss.backward().copy()
    dup_scores = np.vstack([scores, scores[:1]])
    dup_target = np.concatenate([target, target[:1]])
    assert weighted == pytest.approx(loss(dup_scores, dup_target), rel=1e-12)
    grad_dup = loss.backward()
    np.testing.assert_allclose(grad_weighted[0], grad_dup[0] + grad_dup[3], rtol=1e-12)
    np.testing.assert_allclose(grad_weighted[1:], grad_dup[1:3], rtol=1e-12)
    # only the relative weights matter
    assert loss(scores, target, np.array([0.2, 0.1, 0.1])) == pytest.approx(weighted, rel=1e-12)
    # unit weights are the plain mean
    assert loss(scores, target, np.ones(3)) == pytest.approx(loss(scores, target), rel=1e-12)


# ----------------------------------------------------------------------- extremes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_huge_logits(dtype):
    scores = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    y = np.array([1, 2, 0])
    loss = SoftmaxCrossEntropy()
    value = loss(scores, y)
    assert math.isfinite(value)
    # row 0 costs 2e4, row 1 costs 0, row 2 costs log 2
    assert value == pytest.approx((2e4 + 0 + math.log(2)) / 3, rel=1e-6)
    grad = loss.backward()
    assert grad.dtype == dtype and np.isfinite(grad).all()
    np.testing.assert_allclose(grad * 3, [[1, -1, 0], [0, 0, 0], [-0.5, 0.5, 0]], atol=1e-6)
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-6)


def test_sigmoid_binary_cross_entropy_huge_scores():
    loss = SigmoidBinaryCrossEntropy()
    value = loss(np.array([[1e4, -1e4]]), np.array([[0.0, 0.0]]))
    assert value == pytest.approx(1e4, rel=1e-12)
    np.testing.assert_allclose(loss.backward(), [[1.0, 0.0]])


# -------------------------------------------------------------------------- dtype


ALL_LOSSES = [
    (SoftmaxCrossEntropy(), "int"),
    (CrossEntropy(), "int"),
    (CrossEntropy(), "onehot"),
    (SigmoidBinaryCrossEntropy(), "onehot"),
    (MSELoss(), "real"),
    (MultiClassHinge(), "int"),
    (MultiClassHinge(kind="crammer_singer", squared=True), "int"),
    (MultiClassHinge(kind="ovr"), "int"),
    (PoissonLoss(), "count"),
    (AbsoluteErrorLoss(), "real"),
    (HuberLoss(delta=0.5), "real"),
    (QuantileLoss(quantile=0.7), "real"),
]


def make_target(kind, n, k, rng):
    y = rng.integers(0, k, n)
    return {"int": y, "onehot": np.eye(k)[y], "real": rng.standard_normal((n, k)),
            "count": rng.poisson(1.0, (n, k)).astype(float)}[kind]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss, target_kind", ALL_LOSSES, ids=repr)
def test_loss_returns_float_and_keeps_gradient_dtype(loss, target_kind, dtype):
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.05, 1.0, (5, 3)).astype(dtype)
    value = loss(scores, make_target(target_kind, 5, 3, rng), rng.uniform(0.5, 1, 5))
    assert type(value) is float
    grad = loss.backward()
    assert grad.dtype == dtype and grad.shape == scores.shape


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize("loss, target_kind", ALL_LOSSES, ids=repr)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_scores_raise(loss, target_kind, bad):
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.1, 1.0, (4, 3))
    scores[2, 1] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        loss(scores, make_target(target_kind, 4, 3, rng))


def test_check_finite_false_lets_nan_through():
    loss = MSELoss()
    loss.check_finite = False
    assert math.isnan(loss(np.array([[np.nan]]), np.array([[1.0]])))


@pytest.mark.parametrize(
    "loss",
    [SoftmaxCrossEntropy(), CrossEntropy(), MultiClassHinge(),
     MultiClassHinge(kind="crammer_singer"), MultiClassHinge(kind="ovr")],
    ids=repr,
)
@pytest.mark.parametrize("bad_class", [3, -1, 10])
def test_class_index_out_of_range_raises(loss, bad_class):
    scores = np.random.default_rng(0).uniform(0.1, 1.0, (3, 3))
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 3\)"):
        loss(scores, np.array([0, bad_class, 1]))


@pytest.mark.parametrize("loss", [SoftmaxCrossEntropy(), CrossEntropy(), MultiClassHinge()],
                         ids=repr)
def test_non_integer_class_targets_raise(loss):
    scores = np.full((2, 3), 0.3)
    with pytest.raises(ValueError, match="integer class indices"):
        loss(scores, np.array([0.0, 1.0]))


@pytest.mark.parametrize("loss, target_kind", ALL_LOSSES, ids=repr)
@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (np.ones(3), r"shape \(4,\)"),
        (np.ones((4, 1)), r"shape \(4,\)"),
        (np.array([1.0, -0.5, 1.0, 1.0]), "non-negative"),
        (np.array([1.0, np.nan, 1.0, 1.0]), "finite"),
        (np.zeros(4), "positive sum"),
    ],
    ids=["short", "2d", "negative", "nan", "all_zero"],
)
def test_bad_sample_weight_raises(loss, target_kind, sample_weight, match):
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.1, 1.0, (4, 3))
    with pytest.raises(ValueError, match=match):
        loss(scores, make_target(target_kind, 4, 3, rng), sample_weight)


@pytest.mark.parametrize("loss, target_kind", ALL_LOSSES, ids=repr)
def test_bad_shapes_raise(loss, target_kind):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"scores of shape \(n_samples, n_outputs\)"):
        loss(np.ones(3) * 0.5, make_target(target_kind, 3, 1, rng))
    with pytest.raises(ValueError, match=r"scores of shape"):
        loss(np.ones((0, 3)), make_target(target_kind, 0, 3, rng))
    with pytest.raises(ValueError, match="rows"):
        loss(np.full((4, 3), 0.5), make_target(target_kind, 5, 3, rng))


def test_target_shape_mismatch_raises():
    scores = np.zeros((2, 3))
    with pytest.raises(ValueError, match="differs"):
        CrossEntropy()(scores + 0.3, np.ones((2, 2)))
    with pytest.raises(ValueError, match="differs"):
        SigmoidBinaryCrossEntropy()(scores, np.ones((2, 2)))
    with pytest.raises(ValueError, match="differs"):
        MSELoss()(scores, np.ones(2))
    with pytest.raises(ValueError, match="at least 2 columns"):
        MultiClassHinge()(np.zeros((2, 1)), np.array([0, 0]))


@pytest.mark.parametrize("margin", [0, -1.0, float("nan"), "1"])
def test_hinge_rejects_bad_margin(margin):
    with pytest.raises(ValueError, match="margin"):
        MultiClassHinge(margin=margin)


def test_hinge_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        MultiClassHinge(kind="hinge")


# ------------------------------------------------------------- regression losses

REGRESSION_SHAPES = [(1, 1), (6, 1), (7, 3)]


def regression_problem(shape, rng, kink_distance=1e-3, kinks=(0.0,)):
    """Scores and targets whose residuals s - y lie at least ``kink_distance`` from each kink."""
    for _ in range(1000):
        scores = rng.standard_normal(shape) * 1.5
        target = rng.standard_normal(shape) * 1.5
        r = scores - target
        if all(np.min(np.abs(r - k)) > kink_distance for k in kinks):
            return scores, target
    raise RuntimeError("could not draw residuals away from the kinks")


def regression_losses():
    """(loss, kinks of the residual s - y) for every piecewise regression loss."""
    return [
        (AbsoluteErrorLoss(), (0.0,)),
        (HuberLoss(), (-1.0, 1.0)),
        (HuberLoss(delta=0.3), (-0.3, 0.3)),
        (HuberLoss(delta=2.5), (-2.5, 2.5)),
        (QuantileLoss(), (0.0,)),
        (QuantileLoss(quantile=0.1), (0.0,)),
        (QuantileLoss(quantile=0.9), (0.0,)),
    ]


def scaled_central_difference(loss, scores, target, w, rng):
    """d (c * loss) / d scores by central differences, for a random scale c != 1.

    Returns the numeric gradient and c: the analytic one is c * loss.backward().
    """
    c = rng.uniform(0.3, 3.0) * rng.choice([-1.0, 1.0])
    return central_difference(lambda: c * loss(scores, target, w), scores), c


@pytest.mark.parametrize("use_weights", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", REGRESSION_SHAPES)
@pytest.mark.parametrize("loss, kinks", regression_losses(), ids=lambda v: repr(v))
def test_piecewise_regression_loss_gradients(loss, kinks, shape, seed, use_weights):
    rng = np.random.default_rng(seed)
    scores, target = regression_problem(shape, rng, kinks=kinks)
    w = weights_or_none(use_weights, shape[0], rng)
    assert check_loss_gradients(loss, scores, target, w) < 1e-6
    # an independent central difference of the loss times a random scale
    numeric, c = scaled_central_difference(loss, scores, target, w, rng)
    loss(scores, target, w)
    np.testing.assert_allclose(c * loss.backward(), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("use_weights", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", REGRESSION_SHAPES)
def test_poisson_gradients(shape, seed, use_weights):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal(shape)
    target = rng.poisson(2.0, shape).astype(float)  # counts, zeros included
    target[0, 0] = 0.0
    w = weights_or_none(use_weights, shape[0], rng)
    assert check_loss_gradients(PoissonLoss(), scores, target, w) < 1e-6
    numeric, c = scaled_central_difference(PoissonLoss(), scores, target, w, rng)
    loss = PoissonLoss()
    loss(scores, target, w)
    np.testing.assert_allclose(c * loss.backward(), numeric, rtol=1e-6, atol=1e-9)


def test_poisson_values_by_hand():
    # mu = exp(s); h = y log(y / mu) - y + mu
    scores = np.array([[0.0], [math.log(2.0)], [1.0]])
    y = np.array([0.0, 2.0, 4.0])
    expected = [
        1.0,  # y = 0: h = mu = 1
        0.0,  # mu = y = 2
        4 * math.log(4 / math.e) - 4 + math.e,
    ]
    loss = PoissonLoss()
    assert loss(scores, y) == pytest.approx(sum(expected) / 3, rel=1e-12)
    np.testing.assert_allclose(loss.backward()[:, 0], (np.exp(scores[:, 0]) - y) / 3, rtol=1e-12)
    # differs from scikit-learn's HalfPoissonLoss (exp(s) - y s) by a constant in s
    w = np.array([1.0, 2.0, 0.5])
    half_poisson = np.exp(scores[:, 0]) - y * scores[:, 0]
    constant = np.array([0.0, 2 * math.log(2) - 2, 4 * math.log(4) - 4])
    assert loss(scores, y, w) == pytest.approx((half_poisson + constant) @ w / w.sum(), rel=1e-12)


def test_absolute_huber_quantile_values_by_hand():
    scores = np.array([[1.0, 0.0], [2.0, -3.0], [0.5, 0.5]])
    y = np.array([[0.0, 0.0], [0.5, 1.0], [1.0, 0.5]])
    # residuals s - y: [1, 0], [1.5, -4], [-0.5, 0]
    assert AbsoluteErrorLoss()(scores, y) == pytest.approx((0.5 + 2.75 + 0.25) / 3, rel=1e-12)
    # Huber delta=1: [0.5, 0], [1.5 - 0.5, 4 - 0.5], [0.125, 0]
    assert HuberLoss()(scores, y) == pytest.approx((0.25 + 2.25 + 0.0625) / 3, rel=1e-12)
    huber = HuberLoss()
    huber(scores, y)
    np.testing.assert_allclose(huber.backward(), [[1, 0], [1, -1], [-0.5, 0]] / np.array(6.0))
    # pinball q=0.2 on y - s = [-1, 0], [-1.5, 4], [0.5, 0]: [0.8, 0], [1.2, 0.8], [0.1, 0]
    quantile = QuantileLoss(quantile=0.2)
    assert quantile(scores, y) == pytest.approx((0.4 + 1.0 + 0.05) / 3, rel=1e-12)
    # the kinks (residual 0) get the subgradient 0
    np.testing.assert_allclose(
        quantile.backward(), [[0.8, 0], [0.8, -0.2], [-0.2, 0]] / np.array(6.0), rtol=1e-12
    )
    absolute = AbsoluteErrorLoss()
    absolute(scores, y)
    np.testing.assert_array_equal(absolute.backward() * 6, [[1, 0], [1, -1], [-1, 0]])


def test_huber_between_half_squared_and_absolute_error():
    rng = np.random.default_rng(3)
    scores, y = rng.standard_normal((20, 2)), rng.standard_normal((20, 2))
    half_squared = 0.5 * MSELoss()(scores, y)
    # a delta beyond every residual: exactly half the squared error
    assert HuberLoss(delta=100.0)(scores, y) == pytest.approx(half_squared, rel=1e-12)
    # a tiny delta: Huber / delta tends to the absolute error
    tiny = HuberLoss(delta=1e-6)(scores, y) / 1e-6
    assert tiny == pytest.approx(AbsoluteErrorLoss()(scores, y), rel=1e-5)


@pytest.mark.parametrize("use_weights", [False, True])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_regression_losses_against_sklearn_metrics(n_outputs, use_weights):
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(5)
    n = 40
    scores = rng.standard_normal((n, n_outputs))
    y = rng.standard_normal((n, n_outputs)) * 2
    w = rng.uniform(0.1, 2.0, n) if use_weights else None
    assert AbsoluteErrorLoss()(scores, y, w) == pytest.approx(
        metrics.mean_absolute_error(y, scores, sample_weight=w), rel=1e-12
    )
    for q in (0.1, 0.5, 0.83):
        assert QuantileLoss(quantile=q)(scores, y, w) == pytest.approx(
            metrics.mean_pinball_loss(y, scores, sample_weight=w, alpha=q), rel=1e-12
        )
    counts = rng.poisson(3.0, (n, n_outputs)).astype(float)
    # mean_poisson_deviance takes one output at a time, so average it over outputs
    deviance = np.mean([
        metrics.mean_poisson_deviance(counts[:, k], np.exp(scores[:, k]), sample_weight=w)
        for k in range(n_outputs)
    ])
    assert PoissonLoss()(scores, counts, w) == pytest.approx(deviance / 2, rel=1e-12)


@pytest.mark.parametrize(
    "loss", [PoissonLoss(), AbsoluteErrorLoss(), HuberLoss(0.7), QuantileLoss(0.3)], ids=repr
)
def test_regression_sample_weight_of_two_equals_a_duplicated_row(loss):
    rng = np.random.default_rng(2)
    scores = rng.standard_normal((4, 2))
    target = rng.poisson(1.5, (4, 2)).astype(float)
    weighted = loss(scores, target, np.array([2.0, 1.0, 1.0, 1.0]))
    grad_weighted = loss.backward().copy()
    dup = loss(np.vstack([scores, scores[:1]]), np.vstack([target, target[:1]]))
    grad_dup = loss.backward()
    assert weighted == pytest.approx(dup, rel=1e-12)
    np.testing.assert_allclose(grad_weighted[0], grad_dup[0] + grad_dup[4], rtol=1e-12)
    np.testing.assert_allclose(grad_weighted[1:], grad_dup[1:4], rtol=1e-12)
    # zero weight: the row drops out of the value and its gradient is zero
    zero = loss(scores, target, np.array([0.0, 1.0, 1.0, 1.0]))
    assert not loss.backward()[0].any()
    assert zero == pytest.approx(loss(scores[1:], target[1:]), rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "loss", [PoissonLoss(), AbsoluteErrorLoss(), HuberLoss(0.7), QuantileLoss(0.3)], ids=repr
)
def test_regression_losses_keep_dtype(loss, dtype):
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((5, 2)).astype(dtype)
    target = rng.poisson(1.0, (5, 2)).astype(np.float64)
    value = loss(scores, target, rng.uniform(0.5, 1, 5))
    assert type(value) is float
    grad = loss.backward()
    assert grad.dtype == dtype and grad.shape == scores.shape
    # float32 agrees with float64 to float32 precision
    value64 = loss(scores.astype(np.float64), target, rng.uniform(0.5, 1, 5) * 0 + 1)
    value32 = loss(scores, target, np.ones(5))
    assert value32 == pytest.approx(value64, rel=1e-5)


def test_poisson_rejects_negative_targets_and_overflows_to_inf():
    with pytest.raises(ValueError, match="non-negative"):
        PoissonLoss()(np.zeros((3, 1)), np.array([1.0, -0.5, 2.0]))
    loss = PoissonLoss()
    loss.check_finite = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert loss(np.array([[1e3]]), np.array([1.0])) == math.inf


@pytest.mark.parametrize(
    "loss", [PoissonLoss(), AbsoluteErrorLoss(), HuberLoss(), QuantileLoss()], ids=repr
)
def test_regression_losses_reject_bad_targets(loss):
    with pytest.raises(ValueError, match="differs"):
        loss(np.zeros((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="target contains NaN"):
        loss(np.zeros((2, 1)), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="NaN or infinity"):
        loss(np.array([[0.0], [np.inf]]), np.ones(2))


@pytest.mark.parametrize("delta", [0, -1.0, float("nan"), float("inf"), "1", True])
def test_huber_rejects_bad_delta(delta):
    with pytest.raises(ValueError, match="delta"):
        HuberLoss(delta=delta)


@pytest.mark.parametrize("quantile", [0, 1, 1.5, -0.1, float("nan"), "0.5", None])
def test_quantile_rejects_bad_quantile(quantile):
    with pytest.raises(ValueError, match="quantile"):
        QuantileLoss(quantile=quantile)


def test_regression_loss_reprs():
    assert repr(HuberLoss(0.5)) == "HuberLoss(delta=0.5)"
    assert repr(QuantileLoss(0.9)) == "QuantileLoss(quantile=0.9)"
    assert repr(PoissonLoss()) == "PoissonLoss()"
