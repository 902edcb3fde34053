"""Lesson 08 (capstone): draw a digit, the trained CNN predicts it."""
from ..spec import Draw, Lesson, Press, Widget

# Strokes in canvas fractions (x right, y down), drawn with the mouse.
SEVEN = (((0.25, 0.18), (0.72, 0.18), (0.45, 0.85)),)
FOUR = (((0.3, 0.15), (0.25, 0.55), (0.72, 0.55)), ((0.6, 0.2), (0.6, 0.88)))

LESSON = Lesson("08_mnist_classifier.ipynb", [
    Widget("draw-digit", cell="draw_digit(model)",
           steps=[Draw(SEVEN),
                  Press("Clear", expect={"strokes": 0}, caption="Draw a digit"),
                  Draw(FOUR),  # two strokes: the prediction must see both
                  Press("Clear", expect={"strokes": 0}),
                  Draw(FOUR, busy=3.0)],  # drawn while the kernel runs a 3 s cell
           bench=[Draw(SEVEN), Press("Clear", expect={"strokes": 0})]),
])
