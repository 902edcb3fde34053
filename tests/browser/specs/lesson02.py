"""Lesson 02's widgets in the browser suite: activation explorer, decision-boundary playground, depth slider."""
from ..spec import Burst, Lesson, Nudge, Press, Set, Widget

LESSON = Lesson("02_activations.ipynb", [
    Widget("activation-explorer", cell="aw.activation_explorer(",
           steps=[Nudge("slope", +1, expect={"slope": 0.11}, caption="leaky_relu: f from -0.55 to 5"),
                  Nudge("span", +1, expect={"span": 5.5}, caption="relu: f from 0 to 5.5"),
                  Set("gelu", True, caption="gelu: f from"),
                  Set("relu", False, expect={"relu": False}),
                  Burst("span", presses=10, expect={"span": 10.5}, caption="to 10.5")],
           bench=[Nudge("slope", +1), Nudge("slope", -1), Nudge("span", +1), Nudge("span", -1)]),
    Widget("boundary-playground", cell="ab.boundary_playground(",
           steps=[Set("activation", "tanh", caption="press Train", image_changes=False),
                  Press("Train", caption="tanh, 3 hidden units, 300 steps: loss"),
                  Nudge("hidden", +1, expect={"hidden": 4}, caption="press Train", image_changes=False)],
           bench=[Nudge("steps", +1, image_changes=False), Nudge("steps", -1, image_changes=False)]),
    Widget("depth-explorer", cell="ad.depth_explorer(",
           steps=[Nudge("depth", +1, expect={"depth": 21}, caption="after 21 blocks"),
                  Set("init_name", "variance 2/64 (he)", expect={"init_name": "he"}, caption="(he init)"),
                  Burst("depth", presses=10, direction=-1, expect={"depth": 11}, caption="after 11 blocks")],
           bench=[Nudge("depth", +1), Nudge("depth", -1)]),
])
