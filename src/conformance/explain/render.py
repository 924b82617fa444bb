"""An explain entry as text (a terminal), markdown (the docs site) or JSON (tools)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from conformance.explain.data import Entry, Example, Family

FORMATS = ("text", "json", "markdown")
_CHECKED_AS = {
    "payload": "validated as a payload",
    "profile": "a profile whose snapshot is generated",
    "terminology": "a question to the terminology service",
}


def silencing(entry: Entry) -> dict[str, str]:
    """How to set the issue aside where this project lets one: tests, the pytest plugin, statements."""
    return {
        "assert_conforms": f'assert_conforms(resource, allow="{entry.id}")  # or "{entry.id}@Location"',
        "pytest": f"pytest --fhir-allow {entry.id}  # or fhir_allow = {entry.id} in the ini file",
        "statement": (
            f'[[suppress]]\nmessage_id = "{entry.id}"\n'
            'rationale = "Why this issue does not matter for these payloads."'
        ),
    }


def as_json(entry: Entry) -> dict[str, Any]:
    """The entry as a JSON object (`--format json`)."""
    return {
        "id": entry.id,
        "family": entry.family,
        "severity": entry.severity,
        "code": entry.code,
        "rule": entry.rule,
        "source": entry.source,
        "element": entry.element,
        "fix": entry.fix,
        "examples": _examples_json(entry),
        "silence": silencing(entry),
    }


def _examples_json(entry: Entry) -> dict[str, Any]:
    if entry.failing is None or entry.passing is None:
        return {"given": False, "why": entry.unchecked}
    return {
        "checked_as": entry.check,
        "format": entry.failing.format,
        "profiles": list(entry.profiles),
        "options": dict(entry.options or {}),
        "failing": entry.failing.text,
        "passing": entry.passing.text,
        "definitions": list(entry.definitions),
    }


def as_text(entry: Entry) -> str:
    """The entry for a terminal."""
    lines = [f"{entry.id}  ({_severity(entry)})", "", _indent(entry.rule), ""]
    lines += ["Where it comes from:", _indent(entry.source)]
    if entry.element:
        lines.append(_indent(f"profile element: {entry.element}"))
    lines += ["", "How to fix it:", _indent(entry.fix), ""]
    for definition in entry.definitions:
        lines += ["Loaded with the examples:", _indent(definition.rstrip("\n")), ""]
    for title, example in _examples(entry):
        lines += [f"{title}:", _indent(example.text.rstrip("\n")), ""]
    if entry.failing is None:
        lines += [f"No standalone example: {entry.unchecked}.", ""]
    lines.append("How to silence it:")
    for where, how in silencing(entry).items():
        lines += [_indent(f"{where}:"), _indent(how, 4)]
    return "\n".join(lines) + "\n"


def as_markdown(entry: Entry, heading: str = "#") -> str:
    """The entry as markdown; `heading` is the level of its title (`###` in the catalogue page)."""
    return "\n".join(_markdown_lines(entry, heading)) + "\n"


def _markdown_lines(entry: Entry, heading: str) -> Iterator[str]:
    yield f"{heading} `{entry.id}`"
    yield ""
    yield f"**{_severity(entry)}**. {entry.rule}"
    yield ""
    yield f"- **Where it comes from:** {_link(entry.source)}"
    if entry.element:
        yield f"- **Profile element:** `{entry.element}`"
    yield f"- **How to fix it:** {entry.fix}"
    yield ""
    for definition in entry.definitions:
        yield "Loaded with the examples:"
        yield ""
        yield "```json"
        yield definition.rstrip("\n")
        yield "```"
        yield ""
    for title, example in _examples(entry):
        yield f"{title}:"
        yield ""
        yield f"```{example.format}"
        yield example.text.rstrip("\n")
        yield "```"
        yield ""
    if entry.failing is None:
        yield f"No standalone example: {entry.unchecked}."
        yield ""
    silence = silencing(entry)
    yield f"Silence it in a test with `{silence['assert_conforms'].split('  #')[0]}`, or in a statement with:"
    yield ""
    yield "```toml"
    yield silence["statement"]
    yield "```"


def family_markdown(family: Family) -> str:
    """A family's section of the catalogue page."""
    parts = [f"## {family.title}\n", f"Rules from {_link(family.source)}.\n"]
    parts += [as_markdown(entry, "###") for entry in family.entries]
    return "\n".join(parts)


def render(entry: Entry, format: str) -> str:
    if format == "json":
        return json.dumps(as_json(entry), indent=2, ensure_ascii=False) + "\n"
    if format == "markdown":
        return as_markdown(entry)
    return as_text(entry)


def _examples(entry: Entry) -> list[tuple[str, Example]]:
    if entry.failing is None or entry.passing is None:
        return []
    context = f" ({_CHECKED_AS[entry.check]}"
    if entry.profiles:
        context += f", against {', '.join(entry.profiles)}"
    if entry.options:
        context += ", with " + ", ".join(f"{key}={value}" for key, value in entry.options.items())
    context += ")"
    return [
        (f"Gives {entry.id}{context}", entry.failing),
        ("Does not give it", entry.passing),
    ]


def _severity(entry: Entry) -> str:
    return f"{entry.severity}, {entry.code}" if entry.code else entry.severity


def _link(source: str) -> str:
    return f"<{source}>" if source.startswith("https://") else source


def _indent(text: str, width: int = 2) -> str:
    pad = " " * width
    return "\n".join(pad + line if line else line for line in text.splitlines())
