"""The command line: ``python -m sknumpynet`` or the ``sknumpynet`` script.

Commands:

``sknumpynet demo``
    Train sknumpynet's MLPClassifier and LinearSVM beside scikit-learn's
    MLPClassifier and LinearSVC, print a table of test accuracy and fit time,
    and write figures and the fitted model to a folder (see
    :mod:`sknumpynet._demo`).

Usage errors print one line on stderr and exit with status 2; a demo that
cannot run (data unavailable, output folder not writable) prints why on stderr
(for a failed download, each URL tried and its error) and exits with status 1.

``--help`` answers without importing scikit-learn, scipy, pandas or
matplotlib: the package imports its estimators lazily and this module imports
the demo's dependencies only to run it.
"""

import argparse
import sys

from . import __version__

__all__ = ["build_parser", "main"]

PROG = "sknumpynet"


class UsageError(Exception):
    """Bad command-line arguments; the message is the one-line explanation."""

    def __init__(self, prog, message):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, raised instead of printed."""

    def error(self, message):
        raise UsageError(self.prog, message)


def _int_at_least(minimum, requirement, expected):
    """An argparse type: an int of at least ``minimum``, with one-line errors."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
        return value

    return parse


_positive_int = _int_at_least(1, "a positive integer", "a positive integer")
_non_negative_int = _int_at_least(0, "0 or more", "an integer")


def _at_least_20(text):
    value = _positive_int(text)
    if value < 20:
        raise argparse.ArgumentTypeError(
            f"must be at least 20 (two samples of each class), got {text}"
        )
    return value


def _layer_sizes(text):
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 128,64, got {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 128,64, got {text!r}"
        )
    return sizes


DEMO_DESCRIPTION = """\
Train sknumpynet's MLPClassifier and LinearSVM (with a progress bar on a
terminal) and scikit-learn's MLPClassifier and LinearSVC on the same
train/test split (each linear SVM with its defaults), print their test accuracy
and fit time side by side, saying which wins, and write to --out:

  learning_curves.png    training loss and validation accuracy per epoch
  predictions.png        32 random test images with predicted and true labels
                         (green when right, red when wrong); up to a quarter
                         are mistakes, chosen on purpose, as its title says
  confusion_matrix.png   the MLP's confusion matrix on the test set
  embeddings.png         t-SNE (or PCA) of raw pixels beside the MLP's
                         learned embeddings, coloured by class
  model.skn              the fitted MLP (sknumpynet.save; load it with
                         sknumpynet.load), for pixels scaled to [0, 1]
  linear_svm.skn         the fitted LinearSVM, likewise
  results.json           the table, the settings and the machine's load

The timing table says when the machine was busy (load average against its
cores) while timing: then the fit times measure other processes too.

digits ships with scikit-learn (1797 images of 8x8, no download) and runs
in well under a minute. fashion-mnist and mnist (28x28) are read from
--data-home, $SKNUMPYNET_DATA or the scikit-learn data folder, and
downloaded there when missing.
"""

DEMO_EPILOG = """\
examples:
  sknumpynet demo
  sknumpynet demo --dataset fashion-mnist --epochs 20 --out fashion-demo
  sknumpynet demo --dataset mnist --data-home ~/data --max-samples 5000
  sknumpynet demo --n-threads 1
"""


def build_parser():
    """The argument parser of the command line.

    Returns
    -------
    parser : argparse.ArgumentParser
    """
    parser = _Parser(
        prog=PROG,
        description=(
            "sknumpynet: scikit-learn compatible neural networks and a linear SVM "
            "on a readable numpy engine."
        ),
        epilog="Run 'sknumpynet COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    _add_demo_command(commands)
    return parser


def _add_demo_command(commands):
    """The ``demo`` command and its options, on the subparsers of :func:`build_parser`."""
    from ._demo import DATASETS

    demo = commands.add_parser(
        "demo",
        help="train on a data set, compare with scikit-learn, save figures and the model",
        description=DEMO_DESCRIPTION,
        epilog=DEMO_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--dataset", choices=list(DATASETS), default="digits",
        help="the data set (default: %(default)s)",
    )
    demo.add_argument(
        "--epochs", type=_positive_int, default=None, metavar="N",
        help="most training epochs; fewer when validation accuracy stops improving "
             "(default: 30 for digits, 15 for fashion-mnist and mnist)",
    )
    demo.add_argument(
        "--out", default="sknumpynet-demo", metavar="DIR",
        help="output folder, created if needed (default: ./%(default)s)",
    )
    demo.add_argument(
        "--data-home", default=None, metavar="DIR",
        help="folder holding (or receiving) the fashion-mnist / mnist IDX files",
    )
    demo.add_argument(
        "--max-samples", type=_at_least_20, default=None, metavar="N",
        help="use at most N training and N test samples, stratified "
             "(default: all of digits, 20000 for fashion-mnist and mnist)",
    )
    demo.add_argument(
        "--hidden", type=_layer_sizes, default=None, metavar="SIZES",
        help="hidden layer sizes of the MLPs, comma-separated "
             "(default: 128,64 for digits, 256,128 otherwise)",
    )
    demo.add_argument(
        "--map", choices=["tsne", "pca"], default="tsne", dest="map_method",
        help="how the 2-D maps are made (default: %(default)s)",
    )
    demo.add_argument(
        "--seed", type=_non_negative_int, default=0, metavar="N",
        help="seed of the split, the models and the maps (default: %(default)s)",
    )
    demo.add_argument(
        "--n-threads", type=_positive_int, default=None, metavar="N",
        help="BLAS threads of every fit, sknumpynet's and scikit-learn's (default: one "
             "per core); 1 is often fastest for small data or on a busy machine",
    )
    demo.add_argument(
        "--no-progress", dest="progress", action="store_false",
        help="do not show progress bars",
    )


def _run_demo(args):
    from ._demo import run_demo

    run_demo(
        args.dataset, epochs=args.epochs, out=args.out, data_home=args.data_home,
        max_samples=args.max_samples, seed=args.seed, hidden=args.hidden,
        map_method=args.map_method, progress=args.progress,
        n_threads=args.n_threads,
    )
    return 0


def main(argv=None):
    """Run the command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 1 when the command failed, 2 on a usage error,
        130 when interrupted.
    """
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # named by the command they were given to, whose --help lists its options
            prog = PROG if args.command is None else f"{PROG} {args.command}"
            raise UsageError(prog, f"unrecognized arguments: {' '.join(unknown)}")
        if args.command is None:
            raise UsageError(PROG, "missing command; choose one of: demo")
    except UsageError as exc:
        print(f"{exc.prog}: error: {exc} (see '{exc.prog} --help')", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version
        return 0 if exc.code is None else exc.code

    from ._demo import DemoError

    try:
        return _run_demo(args)
    except DemoError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"{PROG} {args.command}: error: out of memory; try smaller --hidden or "
              "--max-samples", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
