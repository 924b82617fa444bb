"""A statement as Markdown: the verdicts first, then what they rest on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from conformance.statements.model import Statement
from conformance.statements.view import (
    INTRODUCTION,
    VERDICT_LABELS,
    VERDICT_MEANINGS,
    draft_warning,
    profile_rows,
    short_name,
    subject_line,
    top_message_ids,
)


def plain(text: object) -> str:
    """Text from a statement, shown as text on one line: Markdown viewers pass raw HTML through, so it is
    escaped, and a line break could start a heading, so it becomes a space."""
    escaped = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(escaped.splitlines())


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return plain(text).replace("\\", "\\\\").replace("|", "\\|")


def code(text: str) -> str:
    """An inline code span that holds any text, backticks included."""
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(cell(name) for name in header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(cell(value) for value in row) + " |" for row in rows)
    return lines


def render_markdown(statement: Statement) -> str:
    return "\n".join(_document(statement)) + "\n"


def _document(statement: Statement) -> Iterator[str]:
    yield from _summary(statement)
    yield from _api_tests(statement)
    yield from _verdicts(statement)
    yield from _issues(statement)
    yield from _not_evaluated(statement)
    yield from _payloads(statement)
    yield from _packages(statement)
    yield from _environment(statement)


def _summary(statement: Statement) -> Iterator[str]:
    standard, results = statement.standard, statement.results
    yield f"# Conformance statement: {plain(subject_line(statement))}"
    yield ""
    yield INTRODUCTION
    yield ""
    yield (
        f"- **Standard:** {plain(standard.title)} ({code(standard.id)}), FHIR {standard.fhir_version}, "
        f"by {plain(standard.publisher)}"
    )
    yield f"- **Overall verdict: {VERDICT_LABELS[results.verdict]}** — {plain(results.reason)}"
    subject = statement.subject
    yield f"- **Samples:** {subject.payload_count} file(s), set digest `{subject.payload_set_sha256}`"
    warning = draft_warning(statement)
    if warning:
        yield ""
        yield f"> **Warning:** {plain(warning)}"
    yield ""


def _verdicts(statement: Statement) -> Iterator[str]:
    yield "## Verdict for each profile"
    yield ""
    rows = [
        (r.name, r.resource_type, "yes" if r.required else "no", r.status, r.tested, r.passed, r.failed,
         r.min_samples, r.verdict_label)
        for r in profile_rows(statement)
    ]  # fmt: skip
    header = ("Profile", "Record type", "Required", "Status", "Tested", "Passed", "Failed", "Min", "Verdict")
    yield from table(header, rows)
    yield ""
    yield from (f"- *{VERDICT_LABELS[key]}*: {meaning}" for key, meaning in VERDICT_MEANINGS.items())
    yield ""


def _issues(statement: Statement) -> Iterator[str]:
    with_issues = [result for result in statement.results.profiles if result.issues_by_message_id]
    if not with_issues:
        return
    yield "## Issues found, by profile"
    yield ""
    for result in with_issues:
        counts = result.issues_by_severity
        yield (
            f"**{short_name(result.url)}**: {counts.fatal} fatal, {counts.error} error(s), "
            f"{counts.warning} warning(s), {counts.information} information"
        )
        yield ""
        yield from table(("Message id", "Count"), top_message_ids(result))
        yield ""


def _not_evaluated(statement: Statement) -> Iterator[str]:
    rows = [
        (short_name(result.url), gap.kind, gap.what, gap.reason, gap.payloads)
        for result in statement.results.profiles
        for gap in result.not_evaluated
    ]
    yield "## Not evaluated"
    yield ""
    if not rows:
        yield "Every rule in scope was evaluated for the payloads tested."
    else:
        yield "These rules were in scope but could not be checked; the verdicts do not cover them."
        yield ""
        yield from table(("Profile", "Kind", "What", "Why", "Payloads"), rows)
    yield ""


def _payloads(statement: Statement) -> Iterator[str]:
    results = statement.results
    yield "## Payloads"
    yield ""
    count = statement.subject.payload_count
    yield f"{count} payload file(s); {results.unreadable_payloads} could not be read."
    if results.out_of_scope:
        kinds = ", ".join(f"{item.resource_type} ({item.count})" for item in results.out_of_scope)
        yield f"Resources outside the standard's scope (not assessed): {plain(kinds)}."
    if results.suppressed_issues:
        yield f"{results.suppressed_issues} issue(s) were suppressed (see Environment)."
    yield ""
    rows = [
        (payload.name, payload.sha256, sum(1 for item in payload.items if item.valid is False))
        for payload in statement.evidence.payloads
    ]
    yield from table(("File", "sha256", "Resources with errors"), rows)
    yield ""


def _packages(statement: Statement) -> Iterator[str]:
    yield "## FHIR packages"
    yield ""
    yield from table(
        ("Package", "Version", "sha256"),
        ((p.name, p.version, p.sha256) for p in statement.standard.packages),
    )
    yield ""


def _environment(statement: Statement) -> Iterator[str]:
    environment, provenance = statement.environment, statement.provenance
    yield "## Environment and provenance"
    yield ""
    yield f"- Tool: {environment.tool} {environment.tool_version}, Python {environment.python_version}"
    yield f"- Terminology: {environment.terminology.kind} — {plain(environment.terminology.description)}"
    for rule in environment.suppressions:
        yield f"- Suppressed {code(rule.message_id)} ({rule.matched} issue(s)): {plain(rule.rationale)}"
    yield f"- Generated at {provenance.generated_at} by {plain(provenance.generated_by)}"
    yield f"- Reproduce with: {code(provenance.command)}"
    signature = statement.signature
    yield f"- Signed by key `{signature.key_id}`" if signature else "- Not signed"


def _api_tests(statement: Statement) -> Iterator[str]:
    api = statement.results.api
    if api is None:
        return
    yield "## Tests of the live server"
    yield ""
    counts = ", ".join(f"{count} {outcome}" for outcome, count in api.counts.items())
    yield f"Server {code(api.base_url)}: {counts}. {plain(api.reason)}."
    yield ""
    yield from table(
        ("Test", "Outcome", "Why", "Exchanges"),
        ((t.id, t.outcome, t.reason, " ".join(t.exchanges[:5])) for t in api.tests),
    )
    yield ""
