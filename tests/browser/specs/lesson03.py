"""Lesson 03 (pooling): the pooling explorer, the shift slider and the receptive-field explorer."""
from ..spec import Lesson, Nudge, Set, Widget

LESSON = Lesson("03_pooling.ipynb", [
    Widget("pooling-explorer", cell="pw.pooling_explorer(",
           steps=[Nudge("window", +1, expect={"window": 1}, caption="output[0, 1] = max of the 2×2 window"),
                  Set("kernel_size", 3, caption="kernel 3, stride 2 (overlapping windows)"),
                  Set("mode", "avg", caption="mean of the 3×3 window"),
                  Set("stride", 3, caption="are in no window (dropped)")],
           bench=[Nudge("window", +1), Nudge("window", -1)]),
    Widget("shift-explorer", cell="psh.shift_explorer(",
           steps=[Nudge("shift", +1, expect={"shift": 2}, caption="shift 2 px right"),
                  Set("direction", "down", caption="shift 2 px down"),
                  Set("mode", "avg", caption="after avg pooling 2×2"),
                  Set("pool_size", 4, caption="avg pooling 4×4")],
           bench=[Nudge("shift", +1), Nudge("shift", -1)]),
    Widget("receptive-field-explorer", cell="prf.receptive_field_explorer(",
           steps=[Nudge("row", +1, expect={"row": 4}, caption="cell [4, 3] sees input rows"),
                  Set("stack", "5 × conv 3×3 (no pooling)", caption="r = 9 + (3 − 1)·1 = 11"),
                  Set("typed", "conv 5/2/2, pool 3/2", expect={"stack": "typed below"},
                      caption="pool 3×3, stride 2, padding 0: r = 5 + (3 − 1)·2 = 9, j = 2·2 = 4")],
           bench=[Nudge("col", +1), Nudge("col", -1)]),
])
