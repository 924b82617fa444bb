"""This engine's own message-id catalogue, read live from the source tree, and lookups of tests.

An id counts as ours when the code emits it (a string literal in src/conformance, or a catalogue
constant such as the questionnaire ids) and the docs list it (in backticks in docs/*.md). Coverage that
names an id missing from either side is stale: an id was renamed, removed or never documented.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import conformance
from conformance.errors import InputError
from conformance.validation.questionnaire import MESSAGE_IDS as QUESTIONNAIRE_IDS

MESSAGE_ID = re.compile(r"[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+")
_BACKTICKED = re.compile(r"`([^`\s]+)`")
GENERATED_DOC = "rule-coverage.md"


def repository_root() -> Path:
    """The source checkout this package runs from (the generator and its check need docs/ and tests/)."""
    root = Path(conformance.__file__).resolve().parents[2]
    if not (root / "docs").is_dir() or not (root / "tests").is_dir():
        raise InputError(f"{root} is not a fhir-conformance source checkout (no docs/ and tests/ there)")
    return root


def emitted_ids(package: Path) -> frozenset[str]:
    """Message ids the code can emit: literals that look like ids, plus the questionnaire catalogue."""
    found = set(QUESTIONNAIRE_IDS)
    for path in sorted(package.rglob("*.py")):
        if "catalogue" in path.relative_to(package).parts:
            continue  # this package names ids only to look for them
        found.update(_id_literals(path))
    return frozenset(found)


def documented_ids(docs: Path) -> frozenset[str]:
    """Ids written in backticks in the docs (the generated coverage page itself excluded)."""
    found: set[str] = set()
    for path in sorted(docs.glob("*.md")):
        if path.name == GENERATED_DOC:
            continue
        for token in _BACKTICKED.findall(path.read_text(encoding="utf-8")):
            if MESSAGE_ID.fullmatch(token):
                found.add(token)
    return frozenset(found)


def _id_literals(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and MESSAGE_ID.fullmatch(node.value)
        ):
            yield node.value


def split_test_name(name: str) -> tuple[str, list[str]]:
    """`tests/test_x.py::Class::test_y` -> ("tests/test_x.py", ["Class", "test_y"])."""
    file, _, rest = name.partition("::")
    return file, [part for part in rest.split("::") if part]


def find_test(root: Path, name: str) -> ast.FunctionDef | None:
    """The test function a `file::function` (or `file::Class::method`) name points at, or None."""
    file, parts = split_test_name(name)
    path = root / file
    if not parts or not path.is_file() or not path.name.startswith("test_"):
        return None
    scope: Iterable[ast.stmt] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        match = next((node for node in scope if _is_named(node, part, function=last)), None)
        if match is None:
            return None
        if last:
            return match if isinstance(match, ast.FunctionDef) else None
        scope = match.body if isinstance(match, ast.ClassDef) else []
    return None


def _is_named(node: ast.stmt, name: str, *, function: bool) -> bool:
    kinds = (ast.FunctionDef,) if function else (ast.ClassDef,)
    return isinstance(node, kinds) and node.name == name
