"""Sphinx configuration of the sknumpynet documentation.

Build (from the repository root, warnings are errors):

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import sys
from pathlib import Path

# Document the checkout these docs belong to, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sknumpynet  # noqa: E402

project = "sknumpynet"
author = "the sknumpynet developers"
copyright = "the sknumpynet developers, BSD-3-Clause"
version = release = sknumpynet.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
]

exclude_patterns = ["_build", "examples/README.rst"]
templates_path = []
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

# -- HTML ----------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"sknumpynet {version}"
html_theme_options = {
    "description": "scikit-learn estimators on a readable numpy engine",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "230px",
}
html_static_path = []
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}
