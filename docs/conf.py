"""Sphinx configuration of the sknumpynet documentation.

Build (from the repository root, warnings are errors):

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os
import sys
from pathlib import Path

# Document the checkout these docs belong to, installed or not.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs" / "_ext"))  # md-table: the benchmarks' tables
# The examples and the figures run at build time: files only, no window.
os.environ.setdefault("MPLBACKEND", "Agg")
# The examples read Fashion-MNIST / MNIST from local files only (never a
# download) and fall back to scikit-learn's digits. A data folder beside the
# checkout (../shared/data, as on the project's machines) is used unless
# $SKNUMPYNET_DATA names another.
if not os.environ.get("SKNUMPYNET_DATA") and (ROOT.parent / "shared" / "data").is_dir():
    os.environ["SKNUMPYNET_DATA"] = str(ROOT.parent / "shared" / "data")

import numpy  # noqa: E402, F401  (loads the BLAS, so that threadpoolctl can cap it)
from threadpoolctl import threadpool_limits  # noqa: E402

import sknumpynet  # noqa: E402

# The examples and figures fit small networks on small data, where one BLAS
# thread is as fast as several on an idle machine and many times faster on a
# busy one (a CI machine shared with other jobs: two BLAS threads per fit
# fighting other processes made a 1-second digits fit take 37 seconds).
_blas_limit = threadpool_limits(limits=1, user_api="blas")

project = "sknumpynet"
author = "the sknumpynet developers"
copyright = "the sknumpynet developers, BSD-3-Clause"
version = release = sknumpynet.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
    "mdtable",
]

# docs/examples/ holds the gallery's sources; sphinx-gallery turns them into
# pages under auto_examples/ (generated, not committed).
exclude_patterns = ["_build", "examples/*.rst", "sg_execution_times.rst"]
templates_path = ["_templates"]
root_doc = "index"
language = "en"

# -- autodoc / autosummary ---------------------------------------------------
# The API pages list their objects by hand with autosummary tables (no
# generated stub files, so a build never writes into the source tree) and
# document them with autoclass / autofunction on the same page.
autosummary_generate = False
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"  # the numpydoc sections already give the types
autodoc_inherit_docstrings = True

# -- numpydoc ----------------------------------------------------------------
# autoclass :members: documents the methods, so numpydoc's own member tables
# would list them twice.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Types stay plain text: numpydoc's cross-referencing of types links "bool",
# "array_like"... into the Python and numpy docs, which needs intersphinx and
# hence the network at build time.  A shape written as ``(`n_features_in_`,)``
# (in backquotes, as scikit-learn does) keeps docutils from reading the
# trailing underscore as a hyperlink.
numpydoc_xref_param_type = False
# Validate the docstrings of sknumpynet's public API while building: each
# failed check is a warning, hence (with -W) an error.  Checked: the
# parameters of a signature and of its docstring agree (PR01, PR02), each
# parameter has a type (PR04), section names and order (GL06, GL07), and a
# summary line (SS01). Not GL08 (a docstring of its own): a method that
# overrides a documented one (``Linear.forward`` of ``Module.forward``)
# inherits its docstring, as autodoc shows it.
numpydoc_validation_checks = {"PR01", "PR02", "PR04", "GL06", "GL07", "SS01"}
# Methods inherited from scikit-learn (get_params, set_output, ...) follow
# scikit-learn's own docstring conventions; only sknumpynet's code is checked.
numpydoc_validation_exclude = {
    r"\.get_params$", r"\.set_params$", r"\.get_metadata_routing$", r"\.set_output$",
    r"\.fit_transform$", r"\.score$", r"\.set_\w+_request$", r"\.__\w+__$",
}

# -- sphinx-gallery ------------------------------------------------------------
# Every script in docs/examples/ runs at build time; its printed output and
# figures appear on its page, with a thumbnail on the gallery's index and a
# download link for the script and a notebook. The scripts run at small
# settings (the whole build takes about a minute on 2 cores);
# SKNUMPYNET_EXAMPLES=full runs them at full size, as from the command line.
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"[\\/]\d\d_",  # run every numbered example
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,  # a failing example fails the build
    "only_warn_on_example_error": False,
    "image_scrapers": ("matplotlib",),
    "capture_repr": (),  # show what the scripts print, not the repr of last lines
    "remove_config_comments": True,
    "show_memory": False,
    "download_all_examples": False,
    "thumbnail_size": (320, 240),
    "reset_modules_order": "both",
    "write_computation_times": False,
}

# -- figures in the user guide (matplotlib's plot directive) --------------------
# The user guide's figures are drawn at build time from code on the page (and
# the committed benchmark JSON in benchmarks/results/).
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {}
plot_working_directory = str(ROOT)

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sknumpynet {version}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# docs/_static/custom.css: room for the article and its code at 1280 px
html_static_path = ["_static"]
html_css_files = ["custom.css"]
# The left sidebar lists every page (docs/_templates/sidebar-global-nav.html):
# the theme's section navigation shows only the children of the current
# top-level page, and the user-guide pages are all top-level, so it was empty.
html_sidebars = {"index": [], "**": ["sidebar-global-nav.html"]}
