"""Upgrade impact: the same payloads assessed against a standard and against its next version.

Given two statements made on the same payload set (`assess --standard OLD` and `assess --standard NEW` on
the same files), say per profile how the verdict moves, and per resource which would stop conforming and
why (the errors the new version gives), which would start, and which fail under both. Resources are
matched by the payload's digest and the entry inside it, so renamed files still match.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from conformance.errors import UsageError
from conformance.statements.model import ItemEvidence, Statement, Verdict
from conformance.statements.view import VERDICT_LABELS

_ERRORS = ("fatal", "error")
_SHOWN_ERRORS = 5


@dataclass(frozen=True)
class ResourceChange:
    """One resource assessed under both standards, and the errors that count under the new one."""

    source: str
    resource_type: str | None
    old_valid: bool
    new_valid: bool
    new_errors: tuple[str, ...]


@dataclass(frozen=True)
class ProfileMove:
    url: str
    old: Verdict | None  # None: not in that standard
    new: Verdict | None


@dataclass(frozen=True)
class UpgradeImpact:
    old_standard: str
    new_standard: str
    old_verdict: Verdict
    new_verdict: Verdict
    profiles: tuple[ProfileMove, ...]
    resources: tuple[ResourceChange, ...]

    @property
    def stop_conforming(self) -> tuple[ResourceChange, ...]:
        return tuple(r for r in self.resources if r.old_valid and not r.new_valid)

    @property
    def start_conforming(self) -> tuple[ResourceChange, ...]:
        return tuple(r for r in self.resources if not r.old_valid and r.new_valid)

    @property
    def fail_both(self) -> tuple[ResourceChange, ...]:
        return tuple(r for r in self.resources if not r.old_valid and not r.new_valid)


def upgrade_impact(old: Statement, new: Statement) -> UpgradeImpact:
    """Compare two statements on one payload set; UsageError when the payloads differ."""
    if old.subject.payload_set_sha256 != new.subject.payload_set_sha256:
        raise UsageError(
            "the two statements were made on different payload sets (their payload-set digests differ); "
            "assess the same files against both standards"
        )
    return UpgradeImpact(
        old_standard=_label(old),
        new_standard=_label(new),
        old_verdict=old.results.verdict,
        new_verdict=new.results.verdict,
        profiles=tuple(_profile_moves(old, new)),
        resources=tuple(_resource_changes(old, new)),
    )


def _label(statement: Statement) -> str:
    standard = statement.standard
    version = f" {standard.version}" if standard.version else ""
    return f"{standard.id}{version} ({standard.status})"


def _profile_moves(old: Statement, new: Statement) -> Iterator[ProfileMove]:
    """Every profile tested under either standard, with its verdict on each side (None: not in it)."""
    before = {result.url: result for result in old.results.profiles}
    after = {result.url: result for result in new.results.profiles}
    tested = {url for url, result in (*before.items(), *after.items()) if result.tested}
    for url in sorted(tested):
        was, now = before.get(url), after.get(url)
        yield ProfileMove(url, was.verdict if was else None, now.verdict if now else None)


def _assessed(statement: Statement) -> dict[tuple[str, str], tuple[str, ItemEvidence]]:
    return {
        (payload.sha256, item.entry): (payload.name, item)
        for payload in statement.evidence.payloads
        for item in payload.items
        if item.valid is not None
    }


def _resource_changes(old: Statement, new: Statement) -> Iterator[ResourceChange]:
    before, after = _assessed(old), _assessed(new)
    for key in sorted(set(before) & set(after), key=lambda key: (after[key][0], key[1])):
        name, item = after[key]
        was = before[key][1]
        yield ResourceChange(
            source=f"{name}#{item.entry}" if item.entry else name,
            resource_type=item.resource_type,
            old_valid=bool(was.valid),
            new_valid=bool(item.valid),
            new_errors=_errors(item),
        )


def _errors(item: ItemEvidence) -> tuple[str, ...]:
    return tuple(
        f"{record.message_id} @ {record.location}: {record.message}"
        for record in item.issues
        if record.severity in _ERRORS and not record.suppressed
    )


# --- renderings ------------------------------------------------------------------------------------


def render_impact_text(impact: UpgradeImpact) -> str:
    return "\n".join(_lines(impact, markdown=False)) + "\n"


def render_impact_markdown(impact: UpgradeImpact) -> str:
    return "\n".join(_lines(impact, markdown=True)) + "\n"


def _verdict(verdict: Verdict | None) -> str:
    return VERDICT_LABELS[verdict] if verdict is not None else "not in the standard"


def _lines(impact: UpgradeImpact, *, markdown: bool) -> Iterator[str]:
    heading = "## " if markdown else ""
    yield f"{'# ' if markdown else ''}Upgrade impact: {impact.old_standard} -> {impact.new_standard}"
    yield ""
    yield (
        f"Overall: {_verdict(impact.old_verdict)} -> {_verdict(impact.new_verdict)}; "
        f"{len(impact.resources)} resource(s) assessed under both: {len(impact.stop_conforming)} would stop "
        f"conforming, {len(impact.start_conforming)} would start, {len(impact.fail_both)} fail under both."
    )
    moved = [move for move in impact.profiles if move.old != move.new]
    yield ""
    yield f"{heading}Profiles whose verdict moves ({len(moved)})"
    yield from _profile_lines(moved, markdown)
    for title, changes in (
        ("Resources that would stop conforming", impact.stop_conforming),
        ("Resources that would start conforming", impact.start_conforming),
        ("Resources that fail under both", impact.fail_both),
    ):
        yield ""
        yield f"{heading}{title} ({len(changes)})"
        yield from _resource_lines(changes, markdown)


def _profile_lines(moves: Sequence[ProfileMove], markdown: bool) -> Iterator[str]:
    if markdown and moves:
        yield ""
        yield "| profile | before | after |"
        yield "|---|---|---|"
    for move in moves:
        name = move.url.rsplit("/", 1)[-1]
        if markdown:
            yield f"| {name} | {_verdict(move.old)} | {_verdict(move.new)} |"
        else:
            yield f"  {name}: {_verdict(move.old)} -> {_verdict(move.new)}"


def _resource_lines(changes: Sequence[ResourceChange], markdown: bool) -> Iterator[str]:
    if markdown and changes:
        yield ""
    for change in changes:
        bullet = "- " if markdown else "  "
        yield f"{bullet}{change.source} ({change.resource_type or '?'})"
        errors = change.new_errors
        for error in errors[:_SHOWN_ERRORS]:
            text = error.replace("|", "\\|") if markdown else error
            yield f"    {'- ' if markdown else ''}{text}"
        if len(errors) > _SHOWN_ERRORS:
            yield f"    {'- ' if markdown else ''}... and {len(errors) - _SHOWN_ERRORS} more"
