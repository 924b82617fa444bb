"""Testing helpers for users' own suites: `assert_conforms`, the pytest plugin, hypothesis strategies.

`conformance.testing.strategies` needs hypothesis (the `test` extra) and is imported on its own.
See docs/pytest.md.
"""

from conformance.testing.assertions import Allowance, NonConformance, assert_conforms

__all__ = ["Allowance", "NonConformance", "assert_conforms"]
