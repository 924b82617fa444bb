"""`build_register`: verify a folder of statements and write the register's static site.

The site (SITE_DIR):
    index.html                 products by standard and by framework; statements not accepted
    register.json              the same facts for machines (schema: docs/schema/register-1.0.schema.json)
    feed.xml                   Atom feed of the accepted statements
    statements/<id>.html|json  each accepted statement: its page, and the statement itself
    standards/<id>.html        each standard: status, profiles, who conforms
    frameworks/<id>.html       each framework: what it requires, who qualifies and why not

A folder that already holds a register is rebuilt in place (its pages replaced); any other non-empty
folder is refused, so a typo cannot overwrite someone's files.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from conformance.errors import InputError
from conformance.frameworks import Framework, KnownStandards, load_trusted_keys, take_in_all
from conformance.register.assemble import Assembled, RegisterInputs, assemble
from conformance.register.feed import FEED_FILE, atom_feed
from conformance.register.model import Register
from conformance.register.pages import framework_page, index_page, standard_page, statement_page
from conformance.register.schema import register_json

DEFAULT_TITLE = "Register of FHIR conformance statements"
REGISTER_FILE = "register.json"
_FOLDERS = ("statements", "standards", "frameworks")
_FILES = ("index.html", REGISTER_FILE, FEED_FILE)


def build_register(
    statements_dir: Path,
    keys: Path,
    out: Path,
    *,
    frameworks: Sequence[Framework] = (),
    standards_search_path: Sequence[Path] = (),
    title: str = DEFAULT_TITLE,
    base_url: str = "",
    now: datetime | None = None,
) -> Register:
    """Verify every statement (*.json) under `statements_dir` against the trusted `keys` (a folder of
    *.pub files, or one) and write the site to `out`; returns what register.json says.
    """
    if not statements_dir.is_dir():
        raise InputError(f"statements folder not found: {statements_dir}")
    _check_apart(statements_dir, out)
    trusted = load_trusted_keys(keys)
    moment = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assembled = assemble(
        RegisterInputs(
            submissions=take_in_all([statements_dir], trusted),
            keys=trusted,
            frameworks=tuple(frameworks),
            standards=KnownStandards(standards_search_path),
            statements_root=statements_dir,
            title=title,
            generated_at=moment,
        )
    )
    _prepare(out)
    _write_site(assembled, out, base_url)
    return assembled.register


def _check_apart(statements_dir: Path, out: Path) -> None:
    """The site may not be inside the statements (it holds copies of them) nor hold them (it is rebuilt)."""
    source, site = statements_dir.resolve(), out.resolve()
    if site == source or site.is_relative_to(source) or source.is_relative_to(site):
        raise InputError(f"the site folder {out} and the statements folder {statements_dir} must be apart")


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / REGISTER_FILE).is_file():
            raise InputError(f"{out} is not empty and holds no register; give an empty or new folder")
        for name in _FOLDERS:
            shutil.rmtree(out / name, ignore_errors=True)
        for name in _FILES:
            (out / name).unlink(missing_ok=True)
    try:
        for name in _FOLDERS:
            (out / name).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot make the site folder {out}: {exc.strerror or exc}") from None


def _write_site(assembled: Assembled, out: Path, base_url: str) -> None:
    register = assembled.register
    standards = {standard.id: standard for standard in register.standards}
    _write(out / "index.html", index_page(register))
    _write(out / REGISTER_FILE, register_json(register))
    _write_bytes(out / FEED_FILE, atom_feed(register, base_url))
    for entry in register.statements:
        statement = assembled.statements[entry.id]
        _write(
            out / entry.page,
            statement_page(
                entry, statement, standards.get(entry.standard.id), checked_at=register.generated_at
            ),
        )
        # The very file that was verified, so a reader can verify it again.
        _write_bytes(out / entry.statement_file, assembled.files[entry.id].read_bytes())
    for standard in register.standards:
        _write(out / standard.page, standard_page(standard, register))
    for framework in register.frameworks:
        _write(out / framework.page, framework_page(framework, register))


def _write(path: Path, text: str) -> None:
    _write_bytes(path, text.encode("utf-8"))


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
