"""Datatype rules that the definitions cannot express as invariants."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.validation.report import Loc
    from conformance.validation.walker import Walker


def check_attachment(walker: Walker, value: Mapping[str, Any], loc: Loc) -> None:
    """A stated size must match the decoded data it describes."""
    data, size = value.get("data"), value.get("size")
    if not isinstance(data, str) or not isinstance(size, int) or isinstance(size, bool):
        return
    try:
        actual = len(base64.b64decode("".join(data.split()), validate=True))
    except (binascii.Error, ValueError):
        return  # the base64 check on `data` reports this
    if actual != size:
        walker.report.error(
            "structure",
            "attachment.size-mismatch",
            f"Stated Attachment Size {size} does not match actual attachment size {actual}",
            loc.child("size"),
        )
