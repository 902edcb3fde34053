"""Interactive widgets for the lessons.

Each module pairs pure functions (arrays or matplotlib figures, unit-tested
without a kernel) with a thin ipywidgets wrapper that only wires controls to them.
"""
