"""Interactive widgets for the lessons.

Each module pairs pure functions (arrays or matplotlib figures, unit-tested
without a kernel) with a thin ipywidgets wrapper that only wires controls to them.
Writing a widget: read the docstring of :mod:`cnnlib.widgets._live` (the ``Live`` base)
and tests/browser/spec.py (how it joins the real-browser suite).
"""
