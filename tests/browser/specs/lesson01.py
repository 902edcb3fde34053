"""Lesson 01 (convolution): kernel explorer, output-size explorer, parameter explorer."""
from ..spec import Lesson, Nudge, Set, Widget

LESSON = Lesson("01_convolution.ipynb", [
    # Starts on test digit 0 (a 7), sobel_x, stride 1, padding 0, window at row 10, col 10.
    Widget("kernel-explorer", cell="cw.kernel_explorer(",
           steps=[Nudge("row", +1, expect={"row": 11}, caption="output[11, 10] of the 26×26 feature map"),
                  Nudge("digit", +1, caption="digit #1 (label 2)"),
                  Set("kernel", "custom", expect={"weights": [0.0] * 9}, caption="your own weights"),
                  Set("weights-4", 1, expect={"kernel": "custom"}, caption="×1 + "),
                  Set("kernel", "gaussian_blur", expect={"weights-0": 0.0625}, caption="×0.0625"),
                  Set("stride", 3, expect={"row": 8, "col": 8},  # a 9×9 map: the window is clamped
                      caption="output[8, 8] of the 9×9 feature map (stride 3, padding 0)"),
                  Set("padding", 2, caption="output[8, 8] of the 10×10 feature map (stride 3, padding 2)")],
           bench=[Nudge("row", +1), Nudge("row", -1), Nudge("col", +1), Nudge("col", -1),
                  Nudge("digit", +1), Nudge("digit", -1), Set("kernel", "box_blur"), Set("kernel", "sobel_x"),
                  Nudge("stride", +1), Nudge("stride", -1)]),
    # Starts at H=8, K=3, S=2, P=0: output 3, the last row dropped.
    Widget("output-size-explorer", cell="cs.output_size_explorer(",
           steps=[Nudge("S", -1, expect={"S": 1}, caption="= 5 + 1 = 6. Every row is covered."),
                  Set("K", 9, caption="Invalid: the kernel (K = 9) is larger than the padded input"),
                  Set("P", 1, caption="Output size = (8 + 2·1 − 9) / 1 + 1 = 1 + 1 = 2."),
                  Nudge("H", +1, expect={"H": 9})],
           bench=[Nudge("H", +1), Nudge("H", -1), Nudge("K", +1), Nudge("K", -1), Nudge("P", +1), Nudge("P", -1)]),
    Widget("param-explorer", cell="cp.param_explorer(",
           steps=[Nudge("C", +1, caption="conv 3×3, 2→8 channels"),
                  Set("K", 5, caption="conv 5×5, 2→8 channels"),
                  Nudge("F", +1, caption="2→9 channels"),
                  Nudge("max_side", +1, expect={"max_side": 72})],
           bench=[Nudge("C", +1), Nudge("C", -1), Nudge("K", +1), Nudge("K", -1),
                  Nudge("max_side", +1), Nudge("max_side", -1)]),
])
