"""Lesson 04 (dense layers and softmax): the softmax playground and the forward-pass explorer."""
from ..spec import Burst, Lesson, Nudge, Set, Widget

LESSON = Lesson("04_dense_softmax.ipynb", [
    # The playground starts at the trained network's logits for test digit 259, a 6 it takes for a 0, on the
    # sliders' 0.5 grid: z = [8.5, -16, -9, -13, -17.5, 2, 7.5, -11.5, -0.5, -8.5], temperature 1, true class 6.
    Widget("softmax-playground", cell="dw.softmax_playground(",
           steps=[Nudge("z6", +1, expect={"z6": 8.0}, caption="p(true class 6) = 0.377, cross-entropy loss = -ln p = 0.975"),
                  Burst("z6", presses=4, expect={"z6": 10.0}, caption="loss = -ln p = 0.202 (uniform guess: ln 10 = 2.303); predicted 6"),
                  Set("true_class", 0, caption="p(true class 0) = 0.182, cross-entropy loss = -ln p = 1.702")],
           bench=[Nudge("z6", +1), Nudge("z6", -1)]),
    Widget("forward-explorer", cell="dfw.forward_explorer(",
           steps=[Nudge("index", +1, expect={"index": 1}, caption="test digit 1: predicted 2 with p = 1.000, true 2: right"),
                  Burst("index", presses=10, expect={"index": 11}, caption="test digit 11: predicted 6")],
           bench=[Nudge("index", +1), Nudge("index", -1)]),
])
