"""cnnlib.init: torch.nn.init's formulas, checked by hand and against torch's statistics."""
import math

import numpy as np
import pytest
import torch

from cnnlib import init
from cnnlib.nn import Parameter

SHAPE = (64, 32, 5, 5)  # fan_in = 800, fan_out = 1600; 51200 samples


@pytest.mark.parametrize("name,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                        ("tanh", None), ("relu", None), ("leaky_relu", None),
                                        ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)),
                                        ("selu", None)])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def test_calculate_gain_by_hand():
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    with pytest.raises(ValueError, match="nonlinearity"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("shape", [(10, 3), (8, 3, 3, 2), (4, 1, 5, 5), (7, 2, 3)])
def test_fans_match_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.calculate_fan_in_and_fan_out(shape) == expected
    assert init.calculate_fan_in_and_fan_out(np.empty(shape)) == expected


def test_fans_need_two_dims():
    with pytest.raises(ValueError, match="fewer than 2"):
        init.calculate_fan_in_and_fan_out((5,))


def _torch_sample(fn, **kw):
    torch.manual_seed(0)
    return fn(torch.empty(SHAPE, dtype=torch.float64), **kw).numpy()


# (cnnlib fn, torch fn, kwargs, expected std, bound or None) with fan_in=800, fan_out=1600
CASES = [
    (init.xavier_uniform_, torch.nn.init.xavier_uniform_, {}, math.sqrt(2 / 2400),
     math.sqrt(6 / 2400)),
    (init.xavier_uniform_, torch.nn.init.xavier_uniform_, {"gain": 5 / 3},
     5 / 3 * math.sqrt(2 / 2400), 5 / 3 * math.sqrt(6 / 2400)),
    (init.xavier_normal_, torch.nn.init.xavier_normal_, {}, math.sqrt(2 / 2400), None),
    (init.kaiming_uniform_, torch.nn.init.kaiming_uniform_, {}, math.sqrt(2 / 800),
     math.sqrt(6 / 800)),
    (init.kaiming_uniform_, torch.nn.init.kaiming_uniform_, {"a": math.sqrt(5)},
     1 / math.sqrt(3 * 800), 1 / math.sqrt(800)),
    (init.kaiming_uniform_, torch.nn.init.kaiming_uniform_,
     {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / 1600), math.sqrt(6 / 1600)),
    (init.kaiming_normal_, torch.nn.init.kaiming_normal_, {"nonlinearity": "relu"},
     math.sqrt(2 / 800), None),
    (init.kaiming_normal_, torch.nn.init.kaiming_normal_, {"mode": "fan_out"},
     math.sqrt(2 / 1600), None),
]


@pytest.mark.parametrize("fn,tfn,kw,std,bound", CASES,
                         ids=[f"{c[0].__name__}-{c[2]}" for c in CASES])
def test_statistics_match_formula_and_torch(fn, tfn, kw, std, bound):
    """On 51200 samples: std within 2% of the formula and of torch's; uniform bounds respected."""
    w = fn(np.empty(SHAPE), rng=np.random.default_rng(0), **kw)
    tw = _torch_sample(tfn, **kw)
    assert abs(w.mean()) < 0.03 * std
    assert w.std() == pytest.approx(std, rel=0.02)
    assert w.std() == pytest.approx(tw.std(), rel=0.03)
    if bound is not None:
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound  # the whole interval is used
        assert np.abs(tw).max() <= bound


def test_operates_in_place_on_parameter_and_array():
    p = Parameter(np.zeros((3, 4), dtype=np.float32))
    view = p.data
    out = init.xavier_uniform_(p, rng=np.random.default_rng(1))
    assert out is p and p.data is view and p.data.dtype == np.float32 and np.any(view != 0)
    a = np.ones((3, 4))
    assert init.zeros_(a) is a and not a.any()
    assert np.all(init.constant_(np.zeros(3), 2.5) == 2.5)


def test_same_rng_seed_same_values():
    a = init.kaiming_normal_(np.empty((5, 5)), rng=np.random.default_rng(3))
    b = init.kaiming_normal_(np.empty((5, 5)), rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def test_manual_seed_makes_default_rng_reproducible():
    init.manual_seed(7)
    a = init.xavier_normal_(np.empty((4, 4)))
    init.manual_seed(7)
    b = init.xavier_normal_(np.empty((4, 4)))
    np.testing.assert_array_equal(a, b)


def test_rejects_integer_arrays_and_bad_mode():
    with pytest.raises(ValueError, match="float"):
        init.zeros_(np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(np.empty((3, 3)), mode="fan_avg")
