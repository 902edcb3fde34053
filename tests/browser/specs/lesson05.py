"""Lesson 05 (backpropagation): the backprop stepper, the gradient-check explorer and learning a kernel."""
from ..spec import Burst, Lesson, Nudge, Press, Set, Widget

LESSON = Lesson("05_backprop.ipynb", [
    # The stepper starts at x = 1, w0 = 0.5, b0 = 0, w1 = -0.5, b1 = 0, label 0, step 0.
    Widget("backprop-stepper", cell="bg.backprop_stepper(",
           steps=[Nudge("step", +1, expect={"step": 1}, caption="Forward 1/9: m0 = w0 · x = 0.5 · 1 = 0.5"),
                  Press("step ▶", expect={"step": 2}, caption="Forward 2/9: m1 = w1 · x = -0.5 · 1 = -0.5"),
                  Set("step", 12, caption="Backward 3/9 at s (upstream dL/ds = 0.4434)"),
                  Set("y", 1, caption="(added to the -1.649 it already had: now -1.205)"),
                  Nudge("x", +1, expect={"x": 1.1}, caption="(added to the -1.733 it already had: now -1.3)")],
           bench=[Nudge("step", +1), Nudge("step", -1)]),
    # Log sliders: the expected values are the exact powers of ten (the readout shows them rounded).
    Widget("gradcheck-explorer", cell="bc.gradcheck_explorer(",
           steps=[Set("layer", "max-pool", caption="max-pool, float64, ε = 1e-05: largest relative error 1.1e-10: fine"),
                  Nudge("kink", -1, expect={"kink": 10 ** -0.5}, caption="The marked input is 3e-01 from",
                        image_changes=False),                 # still far from the kink: the same errors
                  Burst("kink", presses=12, direction=-1, expect={"kink": 10 ** -6.5},
                        caption="3e-07 from the largest value of its window, closer than ε"),
                  Set("dtype", "float32", caption="max-pool, float32, ε = 1e-05"),
                  Set("layer", "conv", caption="This layer has no kinks"),
                  Nudge("eps", +1, expect={"eps": 10 ** -4.5}, caption="conv, float32, ε = 3e-05")],
           bench=[Nudge("eps", +1, expect={"eps": 10 ** -4.5}), Nudge("eps", -1, expect={"eps": 1e-5})]),
    Widget("kernel-descent", cell="bd.kernel_descent(",
           steps=[Nudge("steps", +1, expect={"steps": 110}, caption="learning rate 1, 110 steps"),
                  Nudge("lr", +1, expect={"lr": 10 ** 0.05}, caption="learning rate 1.12, 110 steps"),
                  Burst("lr", presses=4, expect={"lr": 10 ** 0.25}, caption="learning rate 1.78, 110 steps: diverged")],
           bench=[Nudge("steps", +1), Nudge("steps", -1)]),
])
