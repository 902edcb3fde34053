"""One module per lesson, ``lessonNN.py``, each defining ``LESSON`` (see tests/browser/spec.py)."""
import importlib
import pkgutil

from ..spec import Lesson


def load():
    """Every spec, keyed by notebook file name."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("lesson"):
            lesson = importlib.import_module(f"{__name__}.{info.name}").LESSON
            if not isinstance(lesson, Lesson):
                raise TypeError(f"{info.name}.LESSON must be a spec.Lesson")
            found[lesson.notebook] = lesson
    return found
