"""Figures for the demo and the examples, drawn with matplotlib's Agg backend.

Every function draws one figure on a fresh :class:`matplotlib.figure.Figure`
attached to an Agg canvas and saves it as a PNG. ``pyplot`` is never imported,
so nothing here changes matplotlib's global backend or opens a window, and the
functions are safe on a machine without a display.

matplotlib is an optional dependency (``pip install ".[demo]"`` from a clone of the repository); it
is imported when a figure is drawn, and a missing matplotlib raises an
:class:`ImportError` that says how to install it.
"""

from pathlib import Path

import numpy as np

__all__ = [
    "plot_confusion_matrix",
    "plot_embedding_maps",
    "plot_learning_curves",
    "plot_prediction_grid",
]

#: Colours of right and wrong predictions in :func:`plot_prediction_grid`.
RIGHT_COLOUR = "#1a7f37"
WRONG_COLOUR = "#cf222e"

_DPI = 110


def _new_figure(width, height):
    """A Figure with an Agg canvas, independent of pyplot's state."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "drawing figures needs matplotlib: pip install matplotlib, or "
            "pip install \".[demo]\" from a clone of the repository"
        ) from exc
    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _wrap_title(title, width_inches, fontsize=12):
    """``title`` broken into lines that fit ``width_inches`` (a suptitle is not wrapped
    by matplotlib: a long one is clipped at both ends)."""
    import textwrap

    # an average character is about 0.6 em wide; keep a margin of one em a side
    chars = max(20, int((width_inches * 72 - 2 * fontsize) / (0.6 * fontsize)))
    return textwrap.fill(title, width=chars)


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=_DPI, facecolor="white")
    return path


def _class_colours(n_classes):
    """Distinct colours: tab10 up to 10 classes, tab20 up to 20, then a ramp."""
    from matplotlib import colormaps

    if n_classes <= 10:
        return [colormaps["tab10"](i) for i in range(n_classes)]
    if n_classes <= 20:
        return [colormaps["tab20"](i) for i in range(n_classes)]
    ramp = colormaps["turbo"]
    return [ramp(i / max(n_classes - 1, 1)) for i in range(n_classes)]


def plot_learning_curves(curves, path, *, title=None):
    """Training loss and validation accuracy per epoch, side by side.

    Parameters
    ----------
    curves : list of dict
        One entry per model, with keys ``"label"`` (str), ``"loss"`` (sequence
        of float, the mean training loss of each epoch), and optionally
        ``"validation"`` (sequence of float or None, the validation accuracy
        of each epoch), ``"loss_name"`` (str, shown in the legend) and
        ``"linestyle"`` (a matplotlib line style).
    path : str or os.PathLike
        Where to write the PNG.
    title : str, default=None
        The figure's title.

    Returns
    -------
    path : pathlib.Path
        The file written.
    """
    fig = _new_figure(11, 4.2)
    ax_loss, ax_val = fig.subplots(1, 2)
    colours = _class_colours(max(len(curves), 1))
    any_val = False
    for colour, curve in zip(colours, curves):
        style = curve.get("linestyle", "-")
        loss = np.asarray(curve["loss"], dtype=float)
        if loss.size:
            label = curve["label"]
            if curve.get("loss_name"):
                label += f" ({curve['loss_name']})"
            epochs = np.arange(1, loss.size + 1)
            ax_loss.plot(epochs, loss, style, color=colour, label=label,
                         marker="o" if loss.size < 25 else None, markersize=3)
        val = curve.get("validation")
        if val is not None and len(val):
            any_val = True
            val = np.asarray(val, dtype=float)
            epochs = np.arange(1, val.size + 1)
            ax_val.plot(epochs, val, style, color=colour, label=curve["label"],
                        marker="o" if val.size < 25 else None, markersize=3)
            best = int(np.argmax(val))
            ax_val.plot(epochs[best], val[best], "*", color=colour, markersize=12,
                        markeredgecolor="black", markeredgewidth=0.5)
    ax_loss.set_title("Training loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("mean loss over the epoch")
    ax_loss.grid(alpha=0.3)
    if ax_loss.lines:
        ax_loss.legend(fontsize=8)
    ax_val.set_title("Validation accuracy (\u2605 best epoch)")
    ax_val.set_xlabel("epoch")
    ax_val.set_ylabel("accuracy on the held-out split")
    ax_val.grid(alpha=0.3)
    if any_val:
        ax_val.legend(fontsize=8, loc="lower right")
    else:
        ax_val.text(0.5, 0.5, "no validation scores recorded", ha="center", va="center",
                    transform=ax_val.transAxes, color="grey")
    for ax in (ax_loss, ax_val):
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _grid_shape(n, max_cols):
    cols = min(n, max_cols)
    rows = int(np.ceil(n / cols))
    return rows, cols


def plot_prediction_grid(images, y_true, y_pred, class_names, path, *, title=None,
                         max_cols=8):
    """A grid of images titled with their predicted and true labels.

    A title is green when the prediction is right and red when it is wrong.

    Parameters
    ----------
    images : ndarray of shape (n_images, height, width)
        Grayscale images; larger values are drawn darker.
    y_true : ndarray of shape (n_images,)
        True class indices into ``class_names``.
    y_pred : ndarray of shape (n_images,)
        Predicted class indices into ``class_names``.
    class_names : sequence of str
        The name of each class.
    path : str or os.PathLike
        Where to write the PNG.
    title : str, default=None
        The figure's title.
    max_cols : int, default=8
        Most images per row.

    Returns
    -------
    path : pathlib.Path
        The file written.
    """
    images = np.asarray(images)
    n = len(images)
    if n == 0:
        raise ValueError("plot_prediction_grid needs at least one image.")
    rows, cols = _grid_shape(n, max_cols)
    longest = max(len(str(name)) for name in class_names)
    cell_w = max(1.25, 0.085 * longest + 0.45)  # room for the longest label
    if title:
        title = _wrap_title(title, cell_w * cols)
    title_height = 0.0 if not title else 0.2 + 0.22 * (title.count("\n") + 1)
    fig = _new_figure(cell_w * cols, 1.55 * rows + title_height)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, image, true, pred in zip(axes, images, y_true, y_pred):
        ax.imshow(image, cmap="gray_r", interpolation="nearest")
        right = true == pred
        ax.set_title(
            f"pred: {class_names[pred]}\ntrue: {class_names[true]}",
            fontsize=8, color=RIGHT_COLOUR if right else WRONG_COLOUR,
            fontweight="normal" if right else "bold",
        )
        for spine in ax.spines.values():
            spine.set_visible(False)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_confusion_matrix(cm, class_names, path, *, title=None):
    """A confusion matrix with counts in the cells and rows normalised in colour.

    Parameters
    ----------
    cm : ndarray of shape (n_classes, n_classes)
        Counts; ``cm[i, j]`` is the number of samples of true class ``i``
        predicted as class ``j`` (as :func:`sklearn.metrics.confusion_matrix`).
    class_names : sequence of str
        The name of each class.
    path : str or os.PathLike
        Where to write the PNG.
    title : str, default=None
        The axes' title.

    Returns
    -------
    path : pathlib.Path
        The file written.
    """
    cm = np.asarray(cm)
    n = cm.shape[0]
    totals = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, totals, out=np.zeros(cm.shape, dtype=float), where=totals > 0)
    longest = max(len(str(name)) for name in class_names)
    size = max(5.0, 0.55 * n + 0.07 * longest + 1.5)
    fig = _new_figure(size + 1.0, size)
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    fontsize = 9 if n <= 10 else 7
    for i in range(n):
        for j in range(n):
            if cm[i, j] == 0:
                continue
            ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=fontsize,
                    color="white" if share[i, j] > 0.5 else "black")
    ticks = np.arange(n)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_yticklabels(class_names)
    rotate = longest > 2
    ax.set_xticklabels(class_names, rotation=45 if rotate else 0,
                       ha="right" if rotate else "center",
                       rotation_mode="anchor" if rotate else "default")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"{title + ': ' if title else ''}accuracy {accuracy:.3f}")
    return _save(fig, path)


def plot_embedding_maps(maps, y, class_names, path, *, title=None):
    """2-D maps of the same samples side by side, coloured by class.

    Parameters
    ----------
    maps : list of (str, ndarray of shape (n_samples, 2))
        A title and the 2-D coordinates of each map (for example t-SNE of the
        raw pixels, then of learned embeddings).
    y : ndarray of shape (n_samples,)
        Class index of each sample, into ``class_names``.
    class_names : sequence of str
        The name of each class, shown in the legend.
    path : str or os.PathLike
        Where to write the PNG.
    title : str, default=None
        The figure's title.

    Returns
    -------
    path : pathlib.Path
        The file written.
    """
    from matplotlib.lines import Line2D

    y = np.asarray(y)
    n_classes = len(class_names)
    colours = _class_colours(n_classes)
    fig = _new_figure(5.0 * len(maps) + 1.8, 5.0)
    axes = np.atleast_1d(fig.subplots(1, len(maps)))
    marker_size = 10 if len(y) > 600 else 18
    for ax, (map_title, xy) in zip(axes, maps):
        xy = np.asarray(xy)
        for k in range(n_classes):
            mask = y == k
            ax.scatter(xy[mask, 0], xy[mask, 1], s=marker_size, color=colours[k],
                       alpha=0.8, linewidths=0)
        ax.set_title(map_title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal", adjustable="datalim")
    handles = [
        Line2D([], [], marker="o", linestyle="", color=colours[k], label=str(class_names[k]))
        for k in range(n_classes)
    ]
    fig.legend(handles=handles, loc="outside right center", title="class", fontsize=8,
               title_fontsize=9, frameon=False)
    if title:
        fig.suptitle(title)
    return _save(fig, path)
