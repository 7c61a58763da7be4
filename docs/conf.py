"""Sphinx configuration of the cellsim documentation site.

Build (from the repository root, with ``pip install -e ".[docs]"``)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The tutorials (docs/tutorials/*.ipynb, stored without outputs) are executed on every build
(myst-nb); ``CELLSIM_DOCS_EXECUTE=off`` (or ``cache``) skips (or caches) that while
writing pages.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))  # cellsim and analysis, also without an install

import cellsim  # noqa: E402

project = "cellsim"
author = "The cellsim developers"
copyright = "2026, The cellsim developers"
release = version = cellsim.__version__

extensions = [
    "myst_nb",  # MyST Markdown pages and executed notebooks (brings myst_parser)
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "cellsim_docs",  # docs/_ext: the result-schema tables, the validation report's anchors
]

exclude_patterns = [
    "_build",
    "**/.ipynb_checkpoints",
    "img/README.md",
    # included into pages (docs/concepts/), not pages of their own:
    "MODEL.md",
    "ARCHITECTURE.md",
]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["cellsim.css"]

# --- MyST and notebooks -------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist", "attrs_inline"]
myst_heading_anchors = 3  # links such as ARCHITECTURE.md#the-result-schema keep working
nb_execution_mode = os.environ.get("CELLSIM_DOCS_EXECUTE", "force")
nb_execution_timeout = 600
nb_execution_raise_on_error = True  # a tutorial that fails fails the build
nb_execution_show_tb = True
nb_merge_streams = True
if nb_execution_mode == "off":  # unexecuted pages have no kernel's language to highlight
    suppress_warnings = ["myst-nb.lexer"]

# --- API reference --------------------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    "member-order": "bysource",
    "ignore-module-all": True,  # a module's own members only (no re-exported names twice)
    "undoc-members": True,  # every field of a parameter model, with its default (_ext)
    "exclude-members": "model_config,model_fields,model_computed_fields,__new__",
}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_class_signature = "separated"
autodoc_preserve_defaults = True
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

# --- HTML -----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"cellsim {release}"
html_logo = None
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 6,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": []}
html_show_sourcelink = False
