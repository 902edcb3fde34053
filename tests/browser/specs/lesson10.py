"""Lesson 10 (transfer learning and modern architectures): the transfer explorer and the conv cost calculator."""
from ..spec import Burst, Lesson, Nudge, Press, Set, Widget

LESSON = Lesson("10_transfer_and_architectures.ipynb", [
    # Starts at 10 labels per class, frozen features; the grid holds 10 and 100 labels per class (fast mode),
    # the slider offers 10, 30, 100.
    Widget("transfer-explorer", cell="transfer_explorer(grid,",
           steps=[Set("method", "scratch", caption="scratch, 10 labels per class (100 training images): test accuracy"),
                  Nudge("labels", +1, expect={"labels": 30}, caption="30 labels per class (300 training images): not trained yet"),
                  Press("Train", caption="scratch, 30 labels per class (300 training images): test accuracy"),
                  Nudge("labels", +1, expect={"labels": 100}, caption="scratch, 100 labels per class")],
           bench=[Set("method", "fine-tuned"), Set("method", "frozen")]),
    # Starts at C_in 32, C_out 64, a 3x3 kernel, a 14x14 output: separable = 13.1 % of the parameters.
    Widget("cost-calculator", cell="cost_calculator(c_in=32",
           steps=[Nudge("k", +1, expect={"k": 5}, caption="(32, 14, 14) → (64, 14, 14), kernel 5×5"),
                  # 64 -> 65 output channels moves the bars by less than a pixel: the caption's counts change
                  Nudge("c_out", +1, expect={"c_out": 65}, caption="(32, 14, 14) → (65, 14, 14), kernel 5×5",
                        image_changes=False),
                  Set("formula", "standard", caption="C_out·C_in·k²", image_changes=False),
                  Burst("size", presses=10, expect={"size": 24}, caption="(32, 24, 24) → (65, 24, 24)",
                        image_changes=False)],
           bench=[Nudge("k", +1), Nudge("k", -1)]),
])
