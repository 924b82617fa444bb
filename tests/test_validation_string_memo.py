"""The answers on primitive strings kept by the engine: short texts recur and are kept, long ones are not."""

from __future__ import annotations

from conformance.context import Context
from conformance.validation import Validator


def _ids_problems(validator: Validator, resource_id: str) -> list[str]:
    outcome = validator.validate({"resourceType": "Basic", "id": resource_id, "code": {"text": "x"}})
    return [issue.message_id for issue in outcome.errors if issue.location == "Basic.id"]


def test_a_long_text_is_checked_each_time_and_not_kept(r4_context: Context) -> None:
    validator = Validator(r4_context)
    long_id = "a" * 300  # an id is at most 64 characters
    first, again = _ids_problems(validator, long_id), _ids_problems(validator, long_id)
    assert first and first == again
    assert all(len(text) <= 256 for _, text in validator.engine.string_problem_memo)


def test_a_short_text_is_kept_and_answered_alike(r4_context: Context) -> None:
    validator = Validator(r4_context)
    bad_id = "not an id!"
    assert _ids_problems(validator, bad_id) == _ids_problems(validator, bad_id) != []
    assert ("id", bad_id) in validator.engine.string_problem_memo
    assert _ids_problems(validator, "fine-id") == []
