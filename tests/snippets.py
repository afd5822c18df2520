"""Running the code of a page (README, a docs page) as a reader would, for the tests."""

import sys
import warnings

from threadpoolctl import threadpool_limits


def run_snippet(code, name):
    """Run ``code`` in a fresh namespace, as file ``name``.

    Returns
    -------
    namespace : dict
    printed : dict
        The text of the first ``print`` on each line of ``code``, by line number.
    caught : list of warnings.WarningMessage
        Every warning raised (``simplefilter("always")``).
    """
    printed = {}

    def record(*args, sep=" ", end="\n", **kwargs):
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename != name:
            frame = frame.f_back
        text = sep.join(str(a) for a in args)
        if frame is not None:
            printed.setdefault(frame.f_lineno, text)
        print(text, end=end, **kwargs)

    namespace = {"print": record}
    # one BLAS thread: as fast for these small fits, and not many times slower
    # when the machine running the tests is busy
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(1, "blas"):
        warnings.simplefilter("always")
        exec(compile(code, name, "exec"), namespace)
    return namespace, printed, caught
