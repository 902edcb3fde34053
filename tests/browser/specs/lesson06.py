"""Lesson 06's widgets in the browser suite: the gradient-descent and optimizer playgrounds (one widget,
two cells), the schedule explorer and the learning-rate explorer on the small CNN (Train button)."""
from ..spec import Burst, Lesson, Nudge, Press, Set, Widget

LESSON = Lesson("06_optimizers.ipynb", [
    # Starts on the bowl, kappa 10, gradient descent only, lr 1.5 (on the slider's grid ... 1.5, 1.8, 1.9, 2, 2.1 ...).
    Widget("gd-playground", cell='name="gd-playground"',
           steps=[Nudge("lr", +1, expect={"lr": 1.8}, caption="this lr is 0.9 × that limit"),
                  Set("lr", 2.1, caption="this lr is 1.05 × that limit"),
                  Set("kappa", 100.0, caption="condition number 100."),
                  Set("surface", "rosenbrock", caption="condition number 2.51e+03"),
                  Set("adam", True, caption="Adam: ")],
           bench=[Nudge("lr", -1), Nudge("lr", +1), Nudge("steps", +1), Nudge("steps", -1)]),
    # Starts on the bowl, kappa 100, four optimizers, lr 0.05, 100 steps.
    Widget("optimizer-playground", cell='name="optimizer-playground"',
           steps=[Nudge("mu", +1, expect={"mu": 0.91}, caption="momentum: after 100 steps"),
                  Set("surface", "saddle", caption="condition number 2."),
                  Set("nesterov", True, caption="Nesterov: after 100 steps"),
                  Burst("steps", presses=10, expect={"steps": 110}, caption="after 110 steps")],
           bench=[Nudge("lr", +1), Nudge("lr", -1), Nudge("beta2", +1), Nudge("beta2", -1)]),
    Widget("schedule-explorer", cell="osch.schedule_explorer(",
           steps=[Nudge("warmup", +1, expect={"warmup": 0.3}, caption="OneCycle over 500 steps"),
                  Set("kind", "step decay", expect={"kind": "step"}, caption="step decay over 500 steps"),
                  Nudge("total", +1, expect={"total": 510}, caption="over 510 steps"),
                  Set("lr_max", 0.01, caption="lr 0.01 at step 0")],
           bench=[Nudge("total", +1), Nudge("total", -1), Nudge("warmup", +1), Nudge("warmup", -1)]),
    # In fast mode the explorer starts at momentum, lr 0.05, 40 steps (cnn_steps), with the five comparison runs.
    Widget("lr-explorer", cell="ot.lr_explorer(",
           steps=[Set("optimizer", "Adam", expect={"optimizer": "adam"}, caption="press Train for Adam, lr 0.05, 40 steps",
                      image_changes=False),
                  Set("lr", 0.002, caption="press Train for Adam, lr 0.002, 40 steps", image_changes=False),
                  Press("Train", caption="Adam, lr 0.002, 40 steps: final loss"),
                  Nudge("steps", +1, expect={"steps": 60}, caption="press Train for Adam, lr 0.002, 60 steps",
                        image_changes=False)],
           bench=[Nudge("steps", +1, image_changes=False), Nudge("steps", -1, image_changes=False)]),
])
