"""The register's HTML pages: the index, one page per standard and per framework, and statement pages.

Like the statement page (whose renderer makes each statement's page here), every page is self-contained:
no scripts, no fonts, nothing fetched; a Content-Security-Policy forbids loading anything. Tables turn
into one card per row below 40rem, so a phone shows every value without sideways scrolling. Every value
from a statement is escaped; rejected statements never show their verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from conformance.register.model import Entry, FrameworkSummary, ProductOutcome, Register, StandardSummary
from conformance.statements import Statement, render_html
from conformance.statements.render_html import STYLE, e
from conformance.statements.view import VERDICT_LABELS, short_name

_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
EXTRA_STYLE = """
a{color:#0550ae}a:focus{outline:3px solid #0550ae;outline-offset:2px}
.skip{position:absolute;left:-10000px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
nav.crumbs{font-size:.95rem;margin-bottom:1rem}nav.crumbs ol{list-style:none;padding:0;margin:0}
nav.crumbs li{display:inline}nav.crumbs li+li::before{content:" / ";color:#5a6270}
nav.toc ul{padding-left:1.2rem}
.status-active{background:#dafbe1;color:#116329}.status-trial-use{background:#ddf4ff;color:#0a3069}
.status-draft,.status-deprecated{background:#fff8c5;color:#7d4e00}
.status-retired,.rejected{background:#ffebe9;color:#a40e26}
.status-unknown,.example{background:#eaeef2;color:#424a53}
.verified{background:#dafbe1;color:#116329}
.notice{background:#fff;border-left:4px solid #0550ae;padding:.6rem 1rem}
footer{max-width:72rem;margin:0 auto;padding:1rem 1.5rem;color:#5a6270}
ul.reasons{margin:0;padding-left:1.1rem}
td,th,li,p,dd{overflow-wrap:break-word}
.scroll{overflow-x:auto}.scroll:focus{outline:3px solid #0550ae}
@media (max-width:40rem){
table.cards caption{display:block;text-align:left}
main{padding:.75rem}h1{font-size:1.5rem}
table.cards,table.cards tbody,table.cards tr,table.cards td,table.cards th{display:block;width:auto}
table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.cards tr{border:1px solid #d5d9e0;margin:.6rem 0;background:#fff}
table.cards td,table.cards th{border:0;border-top:1px solid #eef0f4}
table.cards td[data-label]::before{content:attr(data-label) ": ";font-weight:600}
}
"""

STATUS_MEANINGS = {
    "draft": "a draft: it may still change",
    "trial-use": "published for trial use: it may change after feedback",
    "active": "active: the version in force",
    "deprecated": "deprecated: still valid, but buyers should move to its successor",
    "retired": "retired: no longer in force; statements against it no longer qualify",
}


def page(title: str, body: str, *, depth: int = 0) -> str:
    """A whole page: `body` is HTML, `title` is text; `depth` is how far below the register's root."""
    home = "../" * depth + "index.html"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">\n'
        f"<title>{e(title)}</title>\n<style>{STYLE}{EXTRA_STYLE}</style>\n</head>\n<body>\n"
        '<a class="skip" href="#content">Skip to the content</a>\n'
        f'<main id="content">\n{body}\n</main>\n'
        f'<footer><p>A register of FHIR conformance statements. <a href="{home}">Back to the register</a>.'
        "</p></footer>\n</body>\n</html>\n"
    )


def _crumbs(depth: int, *here: str) -> str:
    up = "../" * depth
    items = [f'<li><a href="{up}index.html">Register</a></li>', *(f"<li>{e(text)}</li>" for text in here)]
    return f'<nav class="crumbs" aria-label="Where you are"><ol>{"".join(items)}</ol></nav>'


def _badge(text: str, css: str) -> str:
    return f'<span class="badge {e(css)}">{e(text)}</span>'


def status_badge(status: str) -> str:
    known = status if status in STATUS_MEANINGS else "unknown"
    return _badge(f"Status: {status}", f"status-{known}")


def verdict_badge(verdict: str) -> str:
    return _badge(VERDICT_LABELS.get(verdict, verdict), f"verdict-{verdict}")


def _date(timestamp: str) -> str:
    return f'<time datetime="{e(timestamp)}">{e(timestamp[:10])}</time>'


def _cards(caption: str, header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table that becomes one card per row on a narrow screen; cells are HTML, labelled by `header`."""
    head = "".join(f'<th scope="col">{e(name)}</th>' for name in header)
    body = "\n".join(
        "<tr>" + "".join(_cell(label, cell, first=index == 0) for index, (label, cell) in
                         enumerate(zip(header, row, strict=True))) + "</tr>"
        for row in rows
    )  # fmt: skip
    return (
        f'<table class="cards"><caption>{e(caption)}</caption><thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody></table>"
    )


def _cell(label: str, html: str, *, first: bool) -> str:
    if first:
        return f'<th scope="row">{html}</th>'
    return f'<td data-label="{e(label)}">{html}</td>'


def _section(section_id: str, heading: str, content: str) -> str:
    return f'<section id="{e(section_id)}">\n<h2>{e(heading)}</h2>\n{content}\n</section>'


# --- statements tables -----------------------------------------------------------------------------

_STATEMENT_COLUMNS = ("Product", "Supplier", "Verdict", "Date", "Signed by", "Verified")


def _statement_rows(entries: Iterable[Entry], up: str) -> Iterable[Sequence[str]]:
    for entry in entries:
        version = f" (standard version {e(entry.standard.version)})" if entry.standard.version else ""
        yield (
            f'<a href="{up}{e(entry.page)}">{e(entry.product)} {e(entry.product_version)}</a>{version}',
            e(entry.supplier),
            verdict_badge(entry.verdict),
            _date(entry.generated_at),
            f"{e(entry.signer.name)}<br><small><code>{e(entry.signer.key_id[:23])}…</code></small>",
            _badge("Verified", "verified"),
        )


def _statements_table(caption: str, entries: Sequence[Entry], up: str = "") -> str:
    if not entries:
        return "<p>No accepted statement yet.</p>"
    return _cards(caption, _STATEMENT_COLUMNS, _statement_rows(entries, up))


# --- the index -------------------------------------------------------------------------------------


def index_page(register: Register) -> str:
    body = "\n".join(
        (
            _index_header(register),
            _toc(register),
            _section("about", "How to read this register", _about()),
            _section("standards", "Products by standard", _by_standard(register)),
            _section("frameworks", "Products by framework", _by_framework(register)),
            _section("rejected", "Statements not accepted", _rejected(register)),
            _inconsistencies(register.inconsistencies),
            _section("keys", "Trusted signing keys", _keys(register)),
        )
    )
    return page(register.title, body)


def _index_header(register: Register) -> str:
    suppliers = len({entry.supplier for entry in register.statements})
    return (
        '<header>\n<p class="kicker">Register of conformance statements</p>\n'
        f"<h1>{e(register.title)}</h1>\n"
        f"<p>{len(register.statements)} statement(s) accepted from {suppliers} supplier(s); "
        f"{len(register.rejected)} not accepted. Built {_date(register.generated_at)}.</p>\n"
        '<p>For machines: <a href="register.json">register.json</a> (every fact on these pages) and '
        '<a href="feed.xml">an Atom feed of new statements</a>.</p>\n</header>'
    )


def _toc(register: Register) -> str:
    items = [
        ("standards", "Products by standard"),
        ("frameworks", "Products by framework"),
        ("rejected", f"Statements not accepted ({len(register.rejected)})"),
        ("keys", "Trusted keys"),
    ]
    links = "".join(f'<li><a href="#{anchor}">{e(text)}</a></li>' for anchor, text in items)
    return f'<nav class="toc" aria-label="On this page"><ul>{links}</ul></nav>'


def _about() -> str:
    return (
        "<p>Each statement records whether sample data from a supplier's product follows a published data "
        "standard. Every statement listed here was checked when the register was built: it matches the "
        "statement format, its fingerprints (digests) match its evidence, and it is signed with one of the "
        "trusted keys listed at the end. A statement that fails any check is listed apart, with the reason, "
        "and its verdict is not shown.</p>"
    )


def _by_standard(register: Register) -> str:
    if not register.standards:
        return "<p>No standard yet.</p>"
    entries = {entry.id: entry for entry in register.statements}
    parts = []
    for standard in register.standards:
        against = [entries[i] for i in standard.statements]
        heading_id = f"standard-{standard.slug}"
        version = f", version {e(standard.version)}" if standard.version else ""
        parts.append(
            f'<section aria-labelledby="{heading_id}">\n<h3 id="{heading_id}"><a href="{e(standard.page)}">'
            f"{e(standard.title)}</a></h3>\n<p>{status_badge(standard.status)} <code>{e(standard.id)}</code>"
            f"{version}: {len(standard.conformant)} of {len(against)} statement(s) conformant.</p>\n"
            + _statements_table(f"Statements against {standard.title}", against)
            + "\n</section>"
        )
    return "\n".join(parts)


def _by_framework(register: Register) -> str:
    if not register.frameworks:
        return "<p>No framework is applied in this register.</p>"
    parts = []
    for framework in register.frameworks:
        heading_id = f"framework-{framework.slug}"
        example = " " + _badge("Example", "example") if framework.example else ""
        qualifying = sum(1 for product in framework.products if product.qualifies)
        parts.append(
            f'<section aria-labelledby="{heading_id}">\n<h3 id="{heading_id}"><a href="{e(framework.page)}">'
            f"{e(framework.title)}</a>{example}</h3>\n"
            f"<p>{qualifying} of {len(framework.products)} product(s) qualify.</p>\n"
            + _products_table(f"Products against {framework.title}", framework.products, register)
            + "\n</section>"
        )
    return "\n".join(parts)


def _products_table(
    caption: str, products: Sequence[ProductOutcome], register: Register, up: str = ""
) -> str:
    if not products:
        return "<p>No product has a statement yet.</p>"
    pages = {entry.id: entry.page for entry in register.statements}
    rows = (
        (
            f"{e(product.product)} {e(product.product_version)}",
            e(product.supplier),
            _badge("Qualifies", "verdict-conformant") if product.qualifies
            else _badge("Does not qualify", "verdict-non-conformant"),
            _why(product, pages, up),
        )
        for product in products
    )  # fmt: skip
    return _cards(caption, ("Product", "Supplier", "Qualifies", "Why"), rows)


def _why(product: ProductOutcome, pages: dict[str, str], up: str) -> str:
    if product.qualifies:
        links = ", ".join(f'<a href="{up}{e(pages[i])}">statement {n}</a>' for n, i in
                          enumerate(product.statements, start=1))  # fmt: skip
        return f"Meets every requirement ({links})." if links else "Meets every requirement."
    reasons = "".join(f"<li>{e(reason)}</li>" for reason in product.reasons)
    return f'<ul class="reasons">{reasons}</ul>'


def _rejected(register: Register) -> str:
    if not register.rejected:
        return "<p>Every statement handed in was verified.</p>"
    rows = (
        (
            f"<code>{e(item.file)}</code>",
            e(f"{item.product} {item.product_version}") if item.product else "unreadable",
            e(item.supplier or "unknown"),
            _badge("Not accepted", "rejected") + f"<br>{e(item.reason)}",
        )
        for item in register.rejected
    )
    intro = (
        "<p>These files failed verification. They are not part of the register, whatever they claim: "
        "their verdicts are not shown and they count for no framework.</p>"
    )
    return intro + _cards(
        "Statements not accepted, with the reason", ("File", "Product", "Supplier", "Why"), rows
    )


def _inconsistencies(found: Sequence[str]) -> str:
    if not found:
        return ""
    items = "".join(f"<li>{e(text)}</li>" for text in found)
    return _section(
        "inconsistencies",
        "Frameworks that cannot both be met",
        f"<p>These frameworks require versions of one standard that no version satisfies:</p>"
        f"<ul>{items}</ul>",
    )


def _keys(register: Register) -> str:
    rows = ((e(key.name), f"<code>{e(key.key_id)}</code>") for key in register.trusted_keys)
    return _cards("Statements signed with these keys are accepted", ("Name", "Key id"), rows)


# --- a standard's page ------------------------------------------------------------------------------


def standard_page(standard: StandardSummary, register: Register) -> str:
    entries = {entry.id: entry for entry in register.statements}
    against = [entries[i] for i in standard.statements]
    conformant = [entries[i] for i in standard.conformant]
    requiring = [f for f in register.frameworks if any(r.standard == standard.id for r in f.requires)]
    body = "\n".join(
        (
            _crumbs(1, "Standards", standard.title),
            f'<header>\n<p class="kicker">Standard</p>\n<h1>{e(standard.title)}</h1>\n'
            f"<p>{status_badge(standard.status)}</p>\n</header>",
            _lifecycle_notice(standard, register),
            _section("about", "About this standard", _standard_facts(standard)),
            _section("conformant", "Products that conform",
                     _statements_table(f"Conformant products for {standard.title}", conformant, "../")),
            _section("statements", "Every accepted statement",
                     _statements_table(f"All statements against {standard.title}", against, "../")),
            _section("profiles", "Profiles in this standard", _profiles(standard)),
            _section("frameworks", "Frameworks that require it", _framework_links(requiring)),
        )
    )  # fmt: skip
    return page(f"Standard: {standard.title}", body, depth=1)


def _lifecycle_notice(standard: StandardSummary, register: Register) -> str:
    meaning = STATUS_MEANINGS.get(standard.status)
    if standard.status == "active" or meaning is None:
        return ""
    pages = {other.id: other for other in register.standards}
    following = pages.get(standard.successor or "")
    named = (
        f'<a href="../{e(following.page)}">{e(following.title)}</a>'
        if following is not None
        else f"<code>{e(standard.successor)}</code>"
    )
    successor = f" Its successor is {named}." if standard.successor else ""
    return f'<aside class="warning"><strong>This standard is {e(meaning)}.</strong>{successor}</aside>'


def _standard_facts(standard: StandardSummary) -> str:
    facts = [
        ("Identifier", f"<code>{e(standard.id)}</code>"),
        ("Version", e(standard.version or "not stated")),
        ("Status", e(STATUS_MEANINGS.get(standard.status, standard.status))),
        ("Successor", e(standard.successor or "none")),
        ("Publisher", e(standard.publisher)),
    ]
    items = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    description = f"<p>{e(standard.description)}</p>" if standard.description else ""
    return f'{description}<dl class="legend">{items}</dl>'


def _profiles(standard: StandardSummary) -> str:
    if not standard.profiles:
        return "<p>No definition of this standard is at hand, and no statement describes it.</p>"
    rows = (
        (f"{e(short_name(p.url))}<br><small><code>{e(p.url)}</code></small>", e(p.type),
         "required" if p.required else "optional")
        for p in standard.profiles
    )  # fmt: skip
    return _cards(f"The profiles of {standard.title}", ("Profile", "Kind of record", "Required"), rows)


def _framework_links(frameworks: Sequence[FrameworkSummary]) -> str:
    if not frameworks:
        return "<p>No framework in this register requires it.</p>"
    items = "".join(f'<li><a href="../{e(f.page)}">{e(f.title)}</a></li>' for f in frameworks)
    return f"<ul>{items}</ul>"


# --- a framework's page -----------------------------------------------------------------------------


def framework_page(framework: FrameworkSummary, register: Register) -> str:
    standards = {standard.id: standard for standard in register.standards}
    qualifying = [p for p in framework.products if p.qualifies]
    others = [p for p in framework.products if not p.qualifies]
    mine = [text for text in register.inconsistencies if f" {framework.id} " in f" {text} "]
    example = (
        '<aside class="notice"><strong>An example.</strong> This framework shows how a framework is '
        "written; no buyer uses it.</aside>"
        if framework.example
        else ""
    )
    clash = "".join(f"<li>{e(text)}</li>" for text in mine)
    body = "\n".join(
        (
            _crumbs(1, "Frameworks", framework.title),
            f'<header>\n<p class="kicker">Procurement framework</p>\n<h1>{e(framework.title)}</h1>\n'
            f"<p>Published by {e(framework.publisher)}. {e(framework.description)}</p>\n</header>",
            example,
            _section("requires", "What a product must meet", _requirements(framework, standards)),
            _section("qualify", "Products that qualify",
                     _products_table(f"Qualifying for {framework.title}", qualifying, register, "../")),
            _section("not-yet", "Products that do not qualify, and why",
                     _products_table(f"Not qualifying for {framework.title}", others, register, "../")),
            _section("conflicts", "Conflicts with other frameworks", f"<ul>{clash}</ul>") if mine else "",
        )
    )  # fmt: skip
    return page(f"Framework: {framework.title}", body, depth=1)


def _requirements(framework: FrameworkSummary, standards: dict[str, StandardSummary]) -> str:
    rows = []
    for requirement in framework.requires:
        standard = standards.get(requirement.standard)
        name = (
            f'<a href="../{e(standard.page)}">{e(standard.title)}</a>'
            if standard
            else e(requirement.standard)
        )
        versions = "any version" if requirement.versions.strip() in ("", "*") else requirement.versions
        rows.append((name, e(versions), e(requirement.level), e(requirement.note or "")))
    return _cards(
        f"The standards {framework.title} requires", ("Standard", "Versions", "Level", "Note"), rows
    )


# --- a statement's page -----------------------------------------------------------------------------


def statement_page(
    entry: Entry, statement: Statement, standard: StandardSummary | None, *, checked_at: str
) -> str:
    """The statement's own page (the statement renderer's), with the register's navigation and checks."""
    standard_link = (
        f'<li><a href="../{e(standard.page)}">{e(standard.title)}</a></li>' if standard is not None else ""
    )
    crumbs = (
        '<nav class="crumbs" aria-label="Where you are"><ol><li><a href="../index.html">Register</a></li>'
        f"{standard_link}<li>{e(entry.product)} {e(entry.product_version)}</li></ol></nav>"
    )
    notice = (
        f'<aside class="notice"><strong>Verified by the register</strong> on {_date(checked_at)}: '
        f"the statement matches the statement format, its digests match its evidence, and it is signed with "
        f"the trusted key <strong>{e(entry.signer.name)}</strong> (<code>{e(entry.signer.key_id)}</code>). "
        f'The statement itself: <a href="{e(entry.id)}.json">{e(entry.id)}.json</a>.</aside>'
    )
    html = _scrolling_tables(render_html(statement)).replace("</style>", f"{EXTRA_STYLE}</style>", 1)
    marker = "<main>\n"
    return html.replace(marker, f"{marker}{crumbs}\n{notice}\n", 1)


def _scrolling_tables(html: str) -> str:
    """Each table of the statement page in a region that scrolls sideways, so on a phone the page keeps
    the screen's width and only a wide table scrolls; the region is focusable, so keyboards can scroll it.
    """
    parts = html.split("<table")
    wrapped = [parts[0]]
    for number, rest in enumerate(parts[1:], start=1):
        label = f"Table {number} (scrolls sideways on a narrow screen)"
        wrapped.append(f'<div class="scroll" role="region" tabindex="0" aria-label="{label}"><table{rest}')
    return "".join(wrapped).replace("</table>", "</table></div>")
