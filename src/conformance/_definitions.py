"""Definitions kept as data files: standards and frameworks, TOML or JSON, each kind checked by a schema.

A kind's shipped definitions are in `profiles/<folder>/` (inside the package), beside its JSON Schema;
users add their own folders (`search_path`) or name a file. A definition is found by id (its file name
without the suffix; the first folder that has it wins) or by path, read with a size limit, parsed, and
checked against the kind's schema, every problem an `InputError` naming the file and the place in it.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from conformance._resources import profiles_folder
from conformance.errors import InputError

SUFFIXES = (".toml", ".json")
MAX_DEFINITION_BYTES = 1 << 20  # a real definition is a few kilobytes; refuse anything absurd unread


@dataclass(frozen=True)
class DefinitionKind:
    """One kind of definition file: its name in messages, its folder under profiles/, its schema."""

    noun: str
    folder: str
    schema_file: str
    toml_hook: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda data: data, compare=False)
    """Applied to what TOML gives, so that both forms reach the schema alike (e.g. dates as text)."""

    def builtin_folder(self) -> Path:
        return profiles_folder(self.folder)

    def find(self, id_or_path: str | Path, search_path: Sequence[Path] = ()) -> Path:
        """The file of a definition named by id (searched in `search_path`, then the shipped ones) or path."""
        if isinstance(id_or_path, Path) or looks_like_path(id_or_path):
            return Path(id_or_path)
        for folder in (*search_path, self.builtin_folder()):
            for suffix in SUFFIXES:
                candidate = folder / f"{id_or_path}{suffix}"
                if candidate.is_file():
                    return candidate
        known = ", ".join(found for found, _ in self.available(search_path)) or "none"
        raise InputError(
            f"unknown {self.noun} {id_or_path!r} (known: {known}); give a .toml or .json file to use your own"
        )

    def available(self, search_path: Sequence[Path] = ()) -> tuple[tuple[str, Path], ...]:
        """(id, file) for every definition file found, the first occurrence of an id winning."""
        found: dict[str, Path] = {}
        for folder in (*search_path, self.builtin_folder()):
            for path in definition_files(folder):
                found.setdefault(path.stem, path)
        return tuple(sorted(found.items()))

    def read(self, path: Path) -> Any:
        """The file's content in its dict form, not yet checked."""
        try:
            with path.open("rb") as stream:
                raw = stream.read(MAX_DEFINITION_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read the {self.noun} {path}: {exc.strerror or exc}") from None
        if len(raw) > MAX_DEFINITION_BYTES:
            raise InputError(f"{path}: a {self.noun} definition may not exceed {MAX_DEFINITION_BYTES} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path}: a {self.noun} definition must be UTF-8 text") from None
        return self.parse(text, json_form=path.suffix == ".json", where=str(path))

    def parse(self, text: str, *, json_form: bool, where: str) -> Any:
        try:
            return json.loads(text) if json_form else self.toml_hook(tomllib.loads(text))
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{where}: not valid TOML ({exc})") from None
        except RecursionError:
            raise InputError(f"{where}: nested too deeply to be a {self.noun} definition") from None

    def check_shape(self, data: Any, where: str) -> None:
        """The schema's verdict on `data`, as one InputError naming the first place a person should fix."""
        # best_match picks the error a person should read first (the deepest, most specific one).
        errors = _schema_validator(self.builtin_folder() / self.schema_file, self.noun).iter_errors(data)
        error: jsonschema.ValidationError | None = jsonschema.exceptions.best_match(errors)
        if error is not None:
            place = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in error.path)
            raise InputError(
                f"{where}: not a valid {self.noun} definition at {place or 'the top'}: {error.message}"
            )


def looks_like_path(text: str) -> bool:
    return text.endswith(SUFFIXES) or "/" in text or "\\" in text


def definition_files(folder: Path) -> Iterator[Path]:
    """The definition files directly in `folder` (not its schema), in name order."""
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        if path.suffix in SUFFIXES and path.is_file() and not path.name.endswith(".schema.json"):
            yield path


@cache
def _schema_validator(schema_path: Path, noun: str) -> jsonschema.Draft202012Validator:
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"the {noun} schema {schema_path} cannot be read ({exc.strerror})") from None
    return jsonschema.Draft202012Validator(schema)
