"""Instructor tools for the CNN course: a thin CLI over nbgrader (``python -m autograder``)."""
