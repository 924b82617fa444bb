"""A statement as one self-contained HTML page, for a buyer who has never seen FHIR.

No scripts, no images, no fonts, no links to fetch: the styles are inline and a Content-Security-Policy
forbids loading anything else, so the page reads the same offline, archived or attached to an email.
Every value from the statement is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape

from conformance.statements.model import ApiExchange, ApiTest, ProfileResult, Statement
from conformance.statements.view import (
    INTRODUCTION,
    VERDICT_LABELS,
    VERDICT_MEANINGS,
    ProfileRow,
    draft_warning,
    profile_rows,
    short_name,
    subject_line,
    top_message_ids,
)

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;
background:#f6f7f9}
main{max-width:72rem;margin:0 auto;padding:1.5rem}
h1{margin:.2rem 0}h2{margin-top:2rem;border-bottom:1px solid #d5d9e0;padding-bottom:.3rem}
.kicker{text-transform:uppercase;letter-spacing:.08em;color:#5a6270;margin:0}
.overall{padding:1rem 1.25rem;border-radius:.5rem;border:2px solid;background:#fff}
.overall .big{font-size:1.8rem;font-weight:700;margin:.2rem 0}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0}
th,td{border:1px solid #d5d9e0;padding:.4rem .6rem;text-align:left;vertical-align:top}
thead th{background:#eef0f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
small,.muted{color:#5a6270}code{font-size:.85em;word-break:break-all}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:1rem;font-weight:600;white-space:nowrap}
.verdict-conformant{border-color:#1a7f37}.badge.verdict-conformant{background:#dafbe1;color:#116329}
.verdict-non-conformant{border-color:#cf222e}.badge.verdict-non-conformant{background:#ffebe9;color:#a40e26}
.verdict-not-tested{border-color:#6e7781}.badge.verdict-not-tested{background:#eaeef2;color:#424a53}
.verdict-insufficient-sample{border-color:#9a6700}.badge.verdict-insufficient-sample{background:#fff8c5;color:#7d4e00}
.warning{background:#fff8c5;border-left:4px solid #9a6700;padding:.6rem 1rem}
pre{white-space:pre-wrap;word-break:break-all;font-size:.8em;max-height:30rem;overflow:auto}
dl.legend dt{font-weight:600}dl.legend dd{margin:0 0 .4rem 1rem}
"""
_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def e(value: object) -> str:
    return escape(str(value), quote=True)


def render_html(statement: Statement) -> str:
    title = f"Conformance statement: {subject_line(statement)}"
    body = "\n".join(
        (
            _header(statement),
            _overall(statement),
            _section("What this is", f"<p>{e(INTRODUCTION)}</p>"),
            _warning(statement),
            _api_section(statement),
            _section("Verdict for each part of the standard", _verdict_table(statement) + _legend()),
            _section("What was not checked", _not_evaluated(statement)),
            _section("Problems found", _issues(statement)),
            _section("Samples", _samples(statement)),
            _section("The standard and its FHIR packages", _standard(statement)),
            _section("How this statement was produced", _production(statement)),
        )
    )
    return page(title, body)


def page(title: str, body: str) -> str:
    """A whole self-contained page: `body` is HTML, `title` is text."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">\n'
        f"<title>{e(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _section(heading: str, content: str) -> str:
    return f"<section>\n<h2>{e(heading)}</h2>\n{content}\n</section>"


def _table(header: Sequence[str], rows: Iterable[str], *, table_id: str = "", caption: str = "") -> str:
    head = "".join(f'<th scope="col">{e(name)}</th>' for name in header)
    ident = f' id="{e(table_id)}"' if table_id else ""
    cap = f"<caption>{e(caption)}</caption>" if caption else ""
    return (
        f"<table{ident}>{cap}<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table>"
    )


def _row(*cells: str) -> str:
    return "<tr>" + "".join(cells) + "</tr>"


def _td(value: object, *, number: bool = False) -> str:
    return f'<td class="n">{e(value)}</td>' if number else f"<td>{e(value)}</td>"


def _header(statement: Statement) -> str:
    subject = statement.subject
    return (
        '<header>\n<p class="kicker">Conformance statement</p>\n'
        f"<h1>{e(subject.product)} {e(subject.product_version)}</h1>\n"
        f"<p>Supplier: <strong>{e(subject.supplier)}</strong> · Standard: <strong>"
        f"{e(statement.standard.title)}</strong></p>\n</header>"
    )


def _overall(statement: Statement) -> str:
    results = statement.results
    return (
        f'<section class="overall verdict-{e(results.verdict)}" id="overall">\n'
        "<h2>Overall verdict</h2>\n"
        f'<p class="big">{e(VERDICT_LABELS[results.verdict])}</p>\n<p>{e(results.reason)}</p>\n</section>'
    )


def _warning(statement: Statement) -> str:
    warning = draft_warning(statement)
    return f'<aside class="warning"><strong>Warning.</strong> {e(warning)}</aside>' if warning else ""


def _verdict_table(statement: Statement) -> str:
    header = ("Profile", "Kind of record", "Required", "Published status", "Tested", "Passed", "Failed",
              "Samples needed", "Verdict")  # fmt: skip
    return _table(
        header,
        (_verdict_row(row) for row in profile_rows(statement)),
        table_id="verdicts",
        caption="One row for each profile (set of rules) in the standard.",
    )


def _verdict_row(row: ProfileRow) -> str:
    name = f'<th scope="row">{e(row.name)}<br><small><code>{e(row.url)}</code></small></th>'
    verdict = (
        f'<td><span class="badge verdict-{e(row.verdict)}">{e(row.verdict_label)}</span>'
        f"<br><small>{e(row.reason)}</small></td>"
    )
    return (
        f'<tr class="verdict-{e(row.verdict)}">{name}{_td(row.resource_type)}'
        f"{_td('yes' if row.required else 'no')}{_td(row.status)}"
        f"{_td(row.tested, number=True)}{_td(row.passed, number=True)}{_td(row.failed, number=True)}"
        f"{_td(row.min_samples, number=True)}{verdict}</tr>"
    )


def _legend() -> str:
    items = "".join(
        f"<dt>{e(VERDICT_LABELS[key])}</dt><dd>{e(meaning)}</dd>" for key, meaning in VERDICT_MEANINGS.items()
    )
    return f'<dl class="legend">{items}</dl>'


def _not_evaluated(statement: Statement) -> str:
    rows = [
        _row(
            _td(short_name(result.url)),
            _td(gap.kind),
            _td(gap.what),
            _td(gap.reason),
            _td(gap.payloads, number=True),
        )
        for result in statement.results.profiles
        for gap in result.not_evaluated
    ]
    if not rows:
        return "<p>Every rule in scope was checked for the samples tested.</p>"
    intro = "<p>These rules apply but could not be checked automatically; the verdicts do not cover them.</p>"
    return intro + _table(("Profile", "Kind", "What", "Why", "Samples"), rows)


def _issues(statement: Statement) -> str:
    parts = [_issue_block(result) for result in statement.results.profiles if result.issues_by_message_id]
    return "\n".join(parts) if parts else "<p>No problems were found in the samples tested.</p>"


def _issue_block(result: ProfileResult) -> str:
    counts = result.issues_by_severity
    summary = (
        f"<p><strong>{e(short_name(result.url))}</strong>: {counts.fatal + counts.error} error(s), "
        f"{counts.warning} warning(s), {counts.information} note(s)</p>"
    )
    rows = (_row(_td(message_id), _td(count, number=True)) for message_id, count in top_message_ids(result))
    return summary + _table(("Kind of problem (message id)", "Count"), rows)


def _samples(statement: Statement) -> str:
    results = statement.results
    notes = [
        f"{statement.subject.payload_count} file(s) submitted; {results.unreadable_payloads} unreadable."
    ]
    if results.out_of_scope:
        kinds = ", ".join(f"{item.resource_type} ({item.count})" for item in results.out_of_scope)
        notes.append(f"Records outside the standard, not assessed: {kinds}.")
    if results.suppressed_issues:
        notes.append(f"{results.suppressed_issues} problem(s) were set aside by the assessor (see below).")
    rows = (
        _row(_td(p.name), f"<td><code>{e(p.sha256)}</code></td>",
             _td(sum(1 for item in p.items if item.valid is False), number=True))
        for p in statement.evidence.payloads
    )  # fmt: skip
    paragraphs = "".join(f"<p>{e(note)}</p>" for note in notes)
    return paragraphs + _table(("File", "Fingerprint (sha256)", "Records with errors"), rows)


def _standard(statement: Statement) -> str:
    standard = statement.standard
    about = (
        f"<p>{e(standard.title)} (<code>{e(standard.id)}</code>), published by {e(standard.publisher)}, "
        f"FHIR {e(standard.fhir_version)}. {e(standard.description)}</p>"
    )
    rows = (
        _row(_td(p.name), _td(p.version), f"<td><code>{e(p.sha256)}</code></td>") for p in standard.packages
    )
    return about + _table(("Package", "Version", "Fingerprint (sha256)"), rows)


def _production(statement: Statement) -> str:
    environment, provenance, signature = statement.environment, statement.provenance, statement.signature
    entries = [
        ("Tool", f"{environment.tool} {environment.tool_version} (Python {environment.python_version})"),
        ("Code checks", f"{environment.terminology.kind}: {environment.terminology.description}"),
        *((f"Set aside: {rule.message_id}", f"{rule.matched} problem(s). Why: {rule.rationale}")
          for rule in environment.suppressions),
        ("Generated", f"{provenance.generated_at} by {provenance.generated_by}"),
        ("To reproduce", provenance.command),
        ("Signature", f"signed with key {signature.key_id}" if signature else "not signed"),
    ]  # fmt: skip
    items = "".join(f"<dt>{e(name)}</dt><dd>{e(value)}</dd>" for name, value in entries)
    return f'<dl class="legend">{items}</dl>'


# --- a live server's API tests --------------------------------------------------------------------------

_SHOWN_BODY = 20_000  # characters of a body shown on the page (the statement holds all of it)


def _api_section(statement: Statement) -> str:
    api = statement.results.api
    evidence = statement.evidence.api
    if api is None or evidence is None:
        return ""
    exchanges = {exchange.id: exchange for exchange in evidence.exchanges}
    counts = ", ".join(f"{count} {outcome}" for outcome, count in api.counts.items())
    intro = (
        f"<p>The server at <code>{e(api.base_url)}</code> was tested directly ({e(counts)}); "
        f"authentication: {e(evidence.auth)}. {e(api.reason)}. A failed test's request and response can be "
        "opened below.</p>"
    )
    rows = (_api_row(test, exchanges) for test in api.tests)
    table = _table(("Test", "Outcome", "Why"), rows, table_id="api-tests")
    return _section("Tests of the live server", intro + table)


def _api_row(test: ApiTest, exchanges: Mapping[str, ApiExchange]) -> str:
    shown = "".join(_exchange(exchanges[x]) for x in test.exchanges[:3] if x in exchanges)
    opened = shown if test.outcome in ("fail", "error") else ""
    return (
        f'<tr id="api-{e(test.id)}"><th scope="row">{e(test.title)}<br><small><code>{e(test.id)}</code>'
        f"</small></th><td>{e(test.outcome)}</td><td>{e(test.reason)}{opened}</td></tr>"
    )


def _exchange(exchange: ApiExchange) -> str:
    status = exchange.status if exchange.status is not None else (exchange.error or "no response")
    headers = "\n".join(f"{name}: {value}" for name, value in exchange.response_headers.items())
    body = (
        exchange.response_body if exchange.body_encoding == "utf-8" else "(binary, base64 in the statement)"
    )
    cut = body[:_SHOWN_BODY] + ("\n…" if len(body) > _SHOWN_BODY else "")
    return (
        f"<details><summary>{e(exchange.method)} {e(exchange.url)} → {e(status)}</summary>"
        f"<pre>{e(headers)}\n\n{e(cut)}</pre>"
        f"<small>sha256 {e(exchange.response_body_sha256)}</small></details>"
    )
