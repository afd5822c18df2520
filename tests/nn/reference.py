"""Independent references shared by the engine tests (not the package's gradcheck)."""

import numpy as np


def central_difference(f, a, eps=1e-6):
    """Independent reference: d f() / d a by central differences, perturbing ``a`` in place."""
    grad = np.zeros_like(a)
    for idx in np.ndindex(*a.shape):
        old = a[idx]
        a[idx] = old + eps
        plus = f()
        a[idx] = old - eps
        minus = f()
        a[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def optimizer_reference(name, hyper, values, grads_per_step, lr_scales=None, decay=None,
                        weight_decay=0.0):
    """Independent reference: the optimizers' published rules, one parameter at a time.

    In float64, with each parameter's step multiplied by its ``lr_scale`` and,
    for "adam" and "nadam", AdamW's decoupled decay of the weights before the
    step, ``lr * lr_scale * weight_decay * w``, on the parameters whose
    ``decay`` is True. ``name`` is one of "sgd", "momentum" (with
    ``hyper["nesterov"]`` optional), "rmsprop", "adam", "nadam".

    Returns
    -------
    values : list of ndarray
        The parameters after every step.
    """
    w = [np.array(v, dtype=np.float64) for v in values]
    lr_scales = [1.0] * len(w) if lr_scales is None else lr_scales
    decay = [True] * len(w) if decay is None else decay
    state = [{} for _ in w]
    lr = hyper["lr"]
    for t, grads in enumerate(grads_per_step, start=1):
        for i, (g, st) in enumerate(zip(grads, state)):
            step = _rule(name, hyper, g, st, t)
            shrink = lr * weight_decay * w[i] if decay[i] else 0.0
            w[i] = w[i] - lr_scales[i] * (lr * step + shrink)
    return w


def _rule(name, hyper, g, st, t):
    """One parameter's step direction (the step is ``lr`` times it)."""
    if name == "sgd":
        return g
    if name == "momentum":
        mu = hyper["momentum"]
        st["v"] = mu * st.get("v", 0.0) + g
        return g + mu * st["v"] if hyper.get("nesterov") else st["v"]
    if name == "rmsprop":
        st["s"] = hyper["rho"] * st.get("s", 0.0) + (1 - hyper["rho"]) * g**2
        return g / (np.sqrt(st["s"]) + hyper["eps"])
    b1, b2, eps = hyper["beta_1"], hyper["beta_2"], hyper["epsilon"]
    st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
    st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g**2
    v_hat = st["v"] / (1 - b2**t)
    if name == "adam":
        m_hat = st["m"] / (1 - b1**t)
    else:
        m_hat = b1 * st["m"] / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
    return m_hat / (np.sqrt(v_hat) + eps)
