"""Outcome.of: issues deduplicated and in position order, whether they come sorted or not."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from conformance.outcome import Issue, Outcome, Severity

_issues = st.builds(
    Issue,
    severity=st.sampled_from(list(Severity)),
    code=st.sampled_from(["invalid", "structure"]),
    message_id=st.sampled_from(["a", "b"]),
    message=st.sampled_from(["x", "y"]),
    location=st.sampled_from(["", "Patient", "Patient.name[0]"]),
    line=st.none() | st.integers(1, 5),
    column=st.none() | st.integers(1, 5),
)


@given(st.lists(_issues, max_size=30))
def test_issues_come_out_sorted_and_unique_in_any_order_given(issues: list[Issue]) -> None:
    expected = tuple(sorted(dict.fromkeys(issues), key=Issue.sort_key))
    assert Outcome.of(issues).issues == expected
    shuffled = list(issues)
    random.Random(len(issues)).shuffle(shuffled)
    assert Outcome.of(shuffled).issues == tuple(sorted(dict.fromkeys(shuffled), key=Issue.sort_key))
    assert Outcome.of(expected).issues == expected


def test_equal_keys_keep_the_order_they_came_in() -> None:
    first = Issue(Severity.ERROR, "invalid", "a", "x", "Patient", 2, 1, profile="http://one")
    second = Issue(Severity.ERROR, "invalid", "a", "x", "Patient", 2, 1, profile="http://two")
    earlier = Issue(Severity.WARNING, "invalid", "a", "x", "Patient", 1, 9)
    assert Outcome.of([first, second, earlier]).issues == (earlier, first, second)
    assert Outcome.of([second, first]).issues == (second, first)
