"""Lesson 07 (training from scratch): the initialization explorer, the over/underfitting explorer (Train
button) and the augmentation preview."""
from ..spec import Burst, Lesson, Nudge, Press, Set, Widget

LESSON = Lesson("07_training_from_scratch.ipynb", [
    # Starts at N(0, 0.01²), gain 1, ReLU; the gain slider steps by powers of sqrt(2) (... 1, 1.41, 2, 2.83, 4).
    Widget("init-explorer", cell="tw.init_explorer(",
           steps=[Set("scheme", "He / Kaiming", expect={"scheme": "he"},
                      caption="std = 1 × sqrt(2 / fan_in) = 0.0589 for the inner layers"),
                  Nudge("gain", +1, expect={"gain": 1.41}, caption="std = 1.41 × sqrt(2 / fan_in) = 0.0831"),
                  Set("activation", "tanh", caption="then tanh"),
                  Burst("gain", presses=4, expect={"gain": 4.0}, caption="std = 4 × sqrt(2 / fan_in) = 0.236")],
           bench=[Nudge("gain", -1), Nudge("gain", +1)]),
    # In fast mode the explorer starts at 200 digits, width 8, no dropout, no weight decay, 10 epochs, with the
    # no-remedy run of Section 4 already drawn.
    Widget("fit-explorer", cell="tf.fit_explorer(",
           steps=[Nudge("dropout", +1, expect={"dropout": 0.1}, image_changes=False,
                        caption="press Train for 200 digits, width 8, dropout 0.1, 10 epochs"),
                  Set("n_train", 100, image_changes=False,
                      caption="press Train for 100 digits, width 8, dropout 0.1, 10 epochs"),
                  Press("Train", caption="100 digits, width 8, dropout 0.1 (103,018 parameters): train"),
                  Nudge("epochs", +1, expect={"epochs": 15}, image_changes=False,
                        caption="press Train for 100 digits, width 8, dropout 0.1, 15 epochs")],
           bench=[Nudge("epochs", +1, image_changes=False), Nudge("epochs", -1, image_changes=False)]),
    # Starts at shifts of up to 2 px, rotations of up to 10°, seed 0.
    Widget("augment-explorer", cell="ta.augment_explorer(",
           steps=[Nudge("max_shift", +1, expect={"max_shift": 3}, caption="shift of up to ±3 px"),
                  Nudge("max_degrees", +1, expect={"max_degrees": 15}, caption="rotation of up to ±15°"),
                  Nudge("seed", +1, expect={"seed": 1}, caption="(seed 1)"),
                  Burst("max_degrees", presses=6, expect={"max_degrees": 45}, caption="rotation of up to ±45°")],
           bench=[Nudge("seed", +1), Nudge("seed", -1)]),
])
