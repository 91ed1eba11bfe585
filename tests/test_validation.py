"""Tests of deepprob._validation (the one set of input checks) and deepprob._docs."""
import math

import numpy as np
import pytest

from deepprob import _validation as v
from deepprob._docs import fill_doc


@pytest.mark.parametrize(
    "check, value",
    [(v.positive_int, True), (v.positive_int, 0), (v.positive_int, 2.0),
     (v.positive_float, True), (v.positive_float, math.inf), (v.positive_float, math.nan),
     (v.positive_float, 0.0), (v.positive_float, "1"),
     (v.probability, True), (v.probability, math.inf), (v.probability, math.nan), (v.probability, 0.0),
     (v.probability, "0.9"), (v.probability, [0.5]),
     (v.probabilities, [0.5, math.nan]), (v.probabilities, np.array([True])), (v.probabilities, [0.5, 1.0]),
     (v.positive_array, True), (v.positive_array, [1.0, math.inf]), (v.positive_array, [1.0, math.nan]),
     (v.positive_array, [1.0, 0.0]), (v.positive_array, "x")],
)
def test_checks_refuse_bools_inf_nan_zero_and_text(check, value):
    with pytest.raises(ValueError, match="value"):
        check(value, "value")


def test_checks_return_plain_numbers_and_arrays():
    assert v.positive_int(np.int64(3), "n") == 3 and type(v.positive_int(np.int64(3), "n")) is int
    assert v.positive_float(0, "s", allow_zero=True) == 0.0
    assert v.probability(np.array(0.25), "p") == 0.25 and v.probability(0.0, "p", allow_zero=True) == 0.0
    np.testing.assert_array_equal(v.probabilities([0.1, 0.9], "levels"), [0.1, 0.9])
    assert v.probabilities(0.5, "level").ndim == 0
    np.testing.assert_array_equal(v.positive_array([[1.0], [2.0]], "sigma"), [[1.0], [2.0]])
    assert np.isnan(v.as_float_array([1.0, math.nan], "x", allow_nan=True)[1])


def test_positive_array_asks_about_log_variances():
    with pytest.raises(ValueError, match=r"log-variance\? Use scale = exp\(0.5 \* log_var\)"):
        v.positive_array([-1.0], "scale")


def test_fill_doc_indents_fragments_and_refuses_unknown_placeholders():
    fragment = """
        Parameters
        ----------
        x : float
    """

    @fill_doc(params=fragment)
    def f(x):
        """Summary.

        %(params)s
        """

    assert f.__doc__ == "Summary.\n\n        Parameters\n        ----------\n        x : float\n        "
    def g():
        """%(misspelt)s"""

    with pytest.raises(ValueError, match="placeholder"):
        fill_doc(params=fragment)(g)
