"""Several suppliers' statements against one standard, side by side, for shortlisting.

One column per statement, one row per profile of the standard, and a first row with the overall
verdict. Statements must be for the same standard definition; when they were assessed with different
package contents, or some are unsigned, the comparison says so in its notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from conformance.errors import UsageError
from conformance.statements.model import Statement, Verdict
from conformance.statements.render_html import page
from conformance.statements.render_markdown import cell
from conformance.statements.view import VERDICT_LABELS, short_name, subject_line


@dataclass(frozen=True)
class Cell:
    verdict: Verdict
    tested: int
    passed: int

    @property
    def text(self) -> str:
        counts = f" ({self.passed}/{self.tested})" if self.tested else ""
        return VERDICT_LABELS[self.verdict] + counts


@dataclass(frozen=True)
class Row:
    name: str
    url: str
    required: bool
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Comparison:
    standard_id: str
    standard_title: str
    suppliers: tuple[str, ...]
    overall: tuple[Cell, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...]
    api: tuple[str, ...] = ()  # per statement: its live-server tests in one line ('' when there were none)


def compare(statements: Sequence[Statement]) -> Comparison:
    """Line statements up; UsageError when there are none or they are for different standards."""
    if not statements:
        raise UsageError("nothing to compare: give one or more statements")
    first = statements[0].standard
    for statement in statements[1:]:
        if statement.standard.definition_sha256 != first.definition_sha256:
            raise UsageError(
                f"statements are for different standards: {first.id} and {statement.standard.id} "
                "(or two versions of its definition); compare statements of one standard"
            )
    return Comparison(
        standard_id=first.id,
        standard_title=first.title,
        suppliers=tuple(subject_line(statement) for statement in statements),
        overall=tuple(_overall_cell(statement) for statement in statements),
        rows=tuple(_row(statements, index) for index in range(len(first.profiles))),
        notes=_notes(statements),
        api=tuple(_api_text(statement) for statement in statements),
    )


def _api_text(statement: Statement) -> str:
    api = statement.results.api
    if api is None:
        return ""
    failed = api.counts.get("fail", 0) + api.counts.get("error", 0)
    return f"{'Failed' if failed else 'Passed'} ({api.counts.get('pass', 0)} passed, {failed} failed)"


def _overall_cell(statement: Statement) -> Cell:
    tested = sum(1 for result in statement.results.profiles if result.tested)
    conformant = sum(1 for result in statement.results.profiles if result.verdict == "conformant")
    return Cell(statement.results.verdict, tested, conformant)


def _row(statements: Sequence[Statement], index: int) -> Row:
    profile = statements[0].standard.profiles[index]
    cells = tuple(
        Cell(result.verdict, result.tested, result.passed)
        for result in (statement.results.profiles[index] for statement in statements)
    )
    return Row(short_name(profile.url), profile.url, profile.required, cells)


def _notes(statements: Sequence[Statement]) -> tuple[str, ...]:
    notes: list[str] = []
    package_sets = {tuple((p.name, p.version, p.sha256) for p in s.standard.packages) for s in statements}
    if len(package_sets) > 1:
        notes.append("the statements were assessed with different package contents or versions")
    unsigned = [subject_line(s) for s in statements if s.signature is None]
    if unsigned:
        notes.append(f"not signed: {', '.join(unsigned)}")
    withdrawn = {s.standard.status for s in statements if s.standard.status in ("deprecated", "retired")}
    if withdrawn:
        notes.append(f"the standard was {' or '.join(sorted(withdrawn))} when these statements were made")
    drafts = [subject_line(s) for s in statements if s.results.rests_on_draft_profiles]
    if drafts:
        notes.append(f"verdicts resting on profiles that are not active: {', '.join(drafts)}")
    return tuple(notes)


def _header(comparison: Comparison) -> tuple[str, ...]:
    return ("Profile", "Required", *comparison.suppliers)


def _body(comparison: Comparison) -> list[tuple[str, ...]]:
    overall = ("OVERALL", "", *(c.text for c in comparison.overall))
    if any(comparison.api):
        overall_api = ("API TESTS", "", *comparison.api)
        return [overall, overall_api, *_profile_lines(comparison)]
    return [overall, *_profile_lines(comparison)]


def _profile_lines(comparison: Comparison) -> list[tuple[str, ...]]:
    return [
        (row.name, "yes" if row.required else "no", *(c.text for c in row.cells)) for row in comparison.rows
    ]


# --- renderings --------------------------------------------------------------------------------------


def render_compare_text(comparison: Comparison) -> str:
    header, body = _header(comparison), _body(comparison)
    widths = [max(len(line[column]) for line in (header, *body)) for column in range(len(header))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)).rstrip()

    rule = "  ".join("-" * width for width in widths)
    lines = [f"{comparison.standard_title} ({comparison.standard_id})", "", line(header), rule]
    lines.extend(line(values) for values in body)
    lines.extend(f"note: {note}" for note in comparison.notes)
    return "\n".join(lines) + "\n"


def render_compare_markdown(comparison: Comparison) -> str:
    header, body = _header(comparison), _body(comparison)
    lines = [f"# {cell(comparison.standard_title)} ({cell(comparison.standard_id)})", ""]
    lines.append("| " + " | ".join(cell(value) for value in header) + " |")
    lines.append("|" + "---|" * len(header))
    lines.extend("| " + " | ".join(cell(value) for value in values) + " |" for values in body)
    lines.extend(["", *(f"- {cell(note)}" for note in comparison.notes)])
    return "\n".join(lines).rstrip() + "\n"


def render_compare_html(comparison: Comparison) -> str:
    head = "".join(f'<th scope="col">{escape(name)}</th>' for name in _header(comparison))
    rows = [_html_row("Overall verdict", "", comparison.overall)]
    if any(comparison.api):
        cells = "".join(f"<td>{escape(text)}</td>" for text in comparison.api)
        rows.append(f'<tr><th scope="row">Live server API tests</th><td></td>{cells}</tr>')
    rows.extend(_html_row(row.name, "yes" if row.required else "no", row.cells) for row in comparison.rows)
    notes = "".join(f"<li>{escape(note)}</li>" for note in comparison.notes)
    title = f"{comparison.standard_title}: suppliers compared"
    table = (
        f'<table id="comparison"><thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table>"
    )
    return page(title, f"<h1>{escape(title)}</h1>\n{table}\n<ul>{notes}</ul>")


def _html_row(name: str, required: str, cells: Sequence[Cell]) -> str:
    tds = "".join(
        f'<td><span class="badge verdict-{escape(c.verdict)}">{escape(c.text)}</span></td>' for c in cells
    )
    return f'<tr><th scope="row">{escape(name)}</th><td>{escape(required)}</td>{tds}</tr>'
