"""Lesson 00 (welcome): the MNIST digit browser."""
from ..spec import Lesson, Nudge, Set, Widget

LESSON = Lesson("00_welcome.ipynb", [
    # Starts on class 0, example 0 (training image #1), zoom window at row 8, col 8.
    Widget("digit-browser", cell="digit_browser(x_train, y_train)",
           steps=[Nudge("example", +1, expect={"example": 1}, caption="rows 8–19, columns 8–19"),
                  Set("digit", 3, expect={"example": 1}, caption="pixel values"),
                  Nudge("row", +1, expect={"row": 9}, caption="rows 9–20"),
                  Nudge("col", -1, expect={"col": 7}, caption="columns 7–18")],
           bench=[Nudge("example", +1), Nudge("example", -1), Nudge("row", +1), Nudge("row", -1),
                  Set("digit", 7), Set("digit", 3)]),
])
