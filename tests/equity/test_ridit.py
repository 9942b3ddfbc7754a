"""Reference tests for pipelines/equity/ridit.py (hand-computed values)."""

import numpy as np
import pytest

from pipelines.equity import ridit

from .reference_data import HEALTHEQUAL_ORDER, HEALTHEQUAL_POP


def test_ridit_by_hand_unsorted_input():
    # ranks 3, 1, 2 with weights 1, 1, 2 (W = 4); sorted: rank1 (w1), rank2 (w2), rank3 (w1)
    # rank1: (0 + 0.5*1)/4 = 0.125 ; rank2: (1 + 0.5*2)/4 = 0.5 ; rank3: (3 + 0.5*1)/4 = 0.875
    np.testing.assert_allclose(ridit([3, 1, 2], [1, 1, 2]), [0.875, 0.125, 0.5])


def test_ties_share_the_midpoint_of_their_joint_share():
    # ranks 1, 1, 2 with weights 1, 3, 4 (W = 8): tied group weight 4 -> (0 + 2)/8 = 0.25 ;
    # rank 2: (4 + 2)/8 = 0.75
    np.testing.assert_allclose(ridit([1, 1, 2], [1, 3, 4]), [0.25, 0.25, 0.75])


def test_healthequal_rank_construction():
    # WHO healthequal R/sii.R: rank = (cumwr1 + 0.5*(cumwr - cumwr1)) / sumw
    # pop 78, 91, 162, 103, 105: cumulative 78, 169, 331, 434, 539 -> mid-points
    # 39, 123.5, 250, 382.5, 486.5 over 539
    expected = np.array([39, 123.5, 250, 382.5, 486.5]) / 539
    np.testing.assert_allclose(ridit(HEALTHEQUAL_ORDER, HEALTHEQUAL_POP), expected)


def test_weighted_mean_ridit_is_one_half():
    r = ridit([5, 3, 3, 9, 1], [2, 7, 1, 4, 3])
    assert np.dot([2, 7, 1, 4, 3], r) / 17 == pytest.approx(0.5)


def test_zero_weight_unit_gets_a_ridit_but_does_not_shift_others():
    np.testing.assert_allclose(ridit([1, 2, 3], [1, 0, 1]), [0.25, 0.5, 0.75])


@pytest.mark.parametrize(
    ("ranks", "weights", "message"),
    [
        ([1, 2], [1, 1, 1], "length"),
        ([1, np.nan], [1, 1], "NaN"),
        ([1, 2], [1, -1], "non-negative"),
        ([1, 2], [0, 0], "sum to zero"),
        ([], [], "empty"),
        ([1, np.inf], [1, 1], "infinite"),
    ],
)
def test_invalid_inputs_raise(ranks, weights, message):
    with pytest.raises(ValueError, match=message):
        ridit(ranks, weights)
