"""`StandardsDiff` as text (a terminal), Markdown (a page or a pull request) and JSON (a machine)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from conformance.standards.diff import Change, Impact, StandardsDiff

FORMATS = ("text", "markdown", "json")


def render(diff: StandardsDiff, form: str) -> str:
    if form == "json":
        return json.dumps(diff.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if form == "markdown":
        return "\n".join(_markdown(diff)) + "\n"
    return "\n".join(_text(diff)) + "\n"


def _title(diff: StandardsDiff) -> str:
    old, new = diff.old, diff.new
    return (
        f"{old.id} {old.lifecycle.version} ({old.status.value}) -> {new.id} {new.lifecycle.version} "
        f"({new.status.value})"
    )


def _summary(diff: StandardsDiff) -> str:
    counts = diff.counts()
    return (
        f"{len(diff.profiles_added)} profile(s) added, {len(diff.profiles_removed)} removed, "
        f"{len(diff.profiles_compared)} compared; {counts['breaking']} breaking, "
        f"{counts['expected']} newly expected, {counts['relaxed']} relaxed change(s)"
    )


def _where(change: Change) -> str:
    name = change.profile.rsplit("/", 1)[-1]
    return f"{name} {change.element}" if change.element else name


def _text(diff: StandardsDiff) -> Iterator[str]:
    yield _title(diff)
    yield _summary(diff)
    for url in diff.unresolved:
        yield f"not compared (definition not found): {url}"
    for impact in Impact:
        changes = diff.by_impact(impact)
        yield ""
        yield f"{impact.heading} ({len(changes)})"
        for change in changes:
            yield f"  {_where(change)}: {change.detail} [{change.kind}]"


def _markdown(diff: StandardsDiff) -> Iterator[str]:
    yield f"# {_title(diff)}"
    yield ""
    yield _summary(diff) + "."
    if diff.unresolved:
        yield ""
        yield "Not compared (definition not found): " + ", ".join(f"`{url}`" for url in diff.unresolved)
    for impact in Impact:
        changes = diff.by_impact(impact)
        yield ""
        yield f"## {impact.heading} ({len(changes)})"
        if changes:
            yield ""
            yield "| profile | element | change | kind |"
            yield "|---|---|---|---|"
        for change in changes:
            name = change.profile.rsplit("/", 1)[-1]
            element = f"`{change.element}`" if change.element else ""
            yield f"| {name} | {element} | {_cell(change.detail)} | {change.kind} |"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
