"""Regular expressions from profiles, run with a time limit.

Patterns come from profiles, which may be hostile or simply badly written: a pattern
such as `^(a|aa)+$` takes exponential time on a long run of `a` followed by another
character. Python's `re` cannot be interrupted, so patterns run on the `regex`
package, whose matcher takes a timeout; running out of time is an evaluation error,
which the caller reports as "not checked" rather than as a verdict. The HL7 validator
does the same (a timeout, then an error).

FHIRPath `matches()` follows the HL7 validator: the pattern may match anywhere in the
string (a search, not a full match) and `.` also matches line breaks. Patterns have Java's
meanings (`\\s`, `\\w`, `\\d` are ASCII sets...): see `javaregex`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from conformance.fhirpath.errors import FhirPathError
from conformance.fhirpath.javaregex import JavaRegexError, translate

if TYPE_CHECKING:
    import regex

DEFAULT_TIMEOUT_SECONDS = 0.5
MAX_PATTERN_LENGTH = 10_000


@lru_cache(maxsize=1024)
def _compiled(pattern: str, whole: bool) -> regex.Pattern[str]:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise FhirPathError(f"regular expression longer than {MAX_PATTERN_LENGTH} characters")
    import regex  # noqa: PLC0415 -- loaded by the first matches()/replaceMatches(), not by every run

    try:
        translation = translate(pattern, dotall=True)
        source = translation.anchored if whole else translation.pattern
        return regex.compile(source, regex.VERSION1 if translation.nested_sets else regex.VERSION0)
    except (JavaRegexError, regex.error, RecursionError, OverflowError) as exc:
        raise FhirPathError(f"invalid regular expression {pattern!r}: {exc}") from None


def search(pattern: str, text: str, timeout: float) -> bool:
    """Does `pattern` match somewhere in `text`?"""
    return _run(_compiled(pattern, False), text, timeout, full=False)


def full_match(pattern: str, text: str, timeout: float) -> bool:
    """Does `pattern` match the whole of `text`?"""
    return _run(_compiled(pattern, True), text, timeout, full=True)


def substitute(pattern: str, replacement: str, text: str, timeout: float) -> str:
    """`text` with every match of `pattern` replaced; `$1` in the replacement is group 1."""
    import regex  # noqa: PLC0415 -- already loaded by _compiled

    compiled = _compiled(pattern, False)
    template = regex.sub(r"\$(\d+)", r"\\g<\1>", replacement)
    try:
        return compiled.sub(template, text, timeout=timeout)
    except TimeoutError:
        raise FhirPathError(_timeout_message(pattern, timeout)) from None
    except (regex.error, IndexError) as exc:
        raise FhirPathError(f"invalid replacement {replacement!r}: {exc}") from None


def _run(compiled: regex.Pattern[str], text: str, timeout: float, *, full: bool) -> bool:
    try:
        found = compiled.match(text, timeout=timeout) if full else compiled.search(text, timeout=timeout)
    except TimeoutError:
        raise FhirPathError(_timeout_message(compiled.pattern, timeout)) from None
    return found is not None


def _timeout_message(pattern: str, timeout: float) -> str:
    shown = pattern if len(pattern) <= 80 else pattern[:77] + "..."
    return f"regular expression {shown!r} took longer than {timeout:g} s (catastrophic backtracking?)"
