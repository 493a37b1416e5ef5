"""How strongly a comparison prefers a form: the reading rule of docs/fss.md ("What the
comparison can and cannot tell") made explicit -- a verdict from 2 standard errors of the score
difference, a lean from 1 to 2, no preference below 1 (with 4 sizes the se is itself uncertain
by ~40 %, and simulated comparisons at 1-2 se went the wrong way)."""

import math

import pytest

from statmech_nn.analysis.fss.compare import describe_preference, strength


@pytest.mark.parametrize("delta, se, expected", [
    (20.3, 6.7, "verdict"),          # the XY row of docs/fss.md: 3.0 se
    (2.0, 1.0, "verdict"),           # exactly 2 se counts as a verdict
    (1.99, 1.0, "lean"),
    (31.7, 24.3, "lean"),            # percolation in docs/fss.md: 1.3 se, "a lean rather than a verdict"
    (1.0, 1.0, "lean"),
    (4.0, 8.4, "none"),              # the quick study's depth-1 slice: 0.5 se
    (0.0, 0.0, "none"),              # one form or one size: no standard error to measure against
    (3.0, math.nan, "none"),
    (None, None, "none"),            # a number summary.json could not hold
])
def test_strength_follows_the_reading_rule(delta, se, expected):
    assert strength(delta, se) == expected


def test_the_words_carry_the_strength():
    assert describe_preference("bkt", 11.4, 3.2, "11.4 ± 3.2 nat") == "bkt preferred by 11.4 ± 3.2 nat"
    assert describe_preference("bkt", 7.75, 5.3, "7.75 ± 5.3 nat") == \
        "a lean to bkt (7.75 ± 5.3 nat: 1-2 standard errors)"
    assert describe_preference("second_order", 4.0, 8.4, "4 ± 8.4 nat") == \
        "no preference (second_order ahead by 4 ± 8.4 nat: under one standard error)"
