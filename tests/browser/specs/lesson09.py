"""Lesson 09 (inside the CNN): the feature-map browser, the occlusion explorer and the FGSM slider."""
from ..spec import Burst, Lesson, Nudge, Set, Widget

LESSON = Lesson("09_inside_the_cnn.ipynb", [
    # Starts at test digit 0 (a 7), layer conv4, on the channel whose top digits are purest.
    Widget("feature-browser", cell="feature_browser(model,",
           steps=[Set("stage", "conv2: 32 × 14 × 14", expect={"stage": "conv2"}, caption="conv2, channel"),
                  Set("channel", 3, caption="conv2, channel 3 of 32: a 14×14 map"),
                  Nudge("index", +1, expect={"index": 1}, caption="test digit 1 (label 2"),
                  Burst("channel", presses=10, expect={"channel": 13}, caption="channel 13 of 32")],
           bench=[Nudge("index", +1), Nudge("index", -1), Nudge("channel", +1), Nudge("channel", -1)]),
    # Starts at test digit 0, a 6×6 grey square moved by 2 pixels, explaining the true class.
    Widget("occlusion-explorer", cell="occlusion_explorer(model,",
           steps=[Nudge("patch", +1, expect={"patch": 7}, caption="positions of a 7×7 square (fill 0.5), stride 2"),
                  Nudge("stride", +1, expect={"stride": 3}, caption="8×8 = 64 positions of a 7×7 square"),
                  # test digit 0 is classified right: the predicted class is the true one, the same picture
                  Set("explain", "predicted class", expect={"explain": "predicted"},
                      caption="explaining the predicted class", image_changes=False),
                  Set("fill", "black (0)", expect={"fill": 0.0}, caption="(fill 0)"),
                  Nudge("index", +1, expect={"index": 1}, caption="test digit 1: label 2")],
           bench=[Nudge("patch", +1), Nudge("patch", -1)]),
    # Starts at test digit 0 with eps = 0.1.
    Widget("fgsm-slider", cell="fgsm_slider(model,",
           steps=[Nudge("eps", +1, expect={"eps": 0.11}, caption="ε = 0.11"),
                  Burst("eps", presses=10, expect={"eps": 0.21}, caption="ε = 0.21"),
                  Nudge("index", +1, expect={"index": 1}, caption="test digit 1: label 2")],
           bench=[Nudge("eps", +1), Nudge("eps", -1)]),
])
