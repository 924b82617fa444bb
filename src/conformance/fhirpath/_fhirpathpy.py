"""Every name this package takes from fhirpathpy, typed at the boundary.

fhirpathpy has no type annotations; mypy --strict refuses calls into untyped code, so
its callables are re-exported here as `Any`-typed values and the rest of the package
imports from this module only. This also lists, in one place, exactly which parts of
fhirpathpy (2.2.x) the adapter relies on.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
from fhirpathpy.engine import do_eval as _do_eval
from fhirpathpy.engine.invocations import invocation_registry as _invocation_registry
from fhirpathpy.engine.invocations.constants import constants as _constants
from fhirpathpy.engine.nodes import FP_DateTime, FP_Quantity, FP_Time, FP_Type, ResourceNode
from fhirpathpy.parser.ASTPathListener import ASTPathListener as _ASTPathListener
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer as _FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser as _FHIRPathParser

__all__ = [
    "FP_DateTime",
    "FP_Quantity",
    "FP_Time",
    "FP_Type",
    "ResourceNode",
    "ast_listener",
    "builtin_functions",
    "evaluate_tree",
    "lexer_class",
    "make_node",
    "models",
    "parser_class",
    "reset_clock",
]

# A node of fhirpathpy's evaluation: (JSON value, type or element path, `_name` sibling).
make_node: Any = ResourceNode

# do_eval(ctx, input collection, syntax tree) -> result collection
evaluate_tree: Any = _do_eval

# fhirpathpy's own functions and operators: name -> {"fn": ..., "arity": {...}, ...}
builtin_functions: Mapping[str, Any] = _invocation_registry


class _TypeTables(Mapping[str, Any]):
    """fhirpathpy's type tables, per FHIR version ("r4", "stu3"): path2Type, choiceTypePaths, type2Parent,
    pathsDefinedElsewhere; the same data as `fhirpathpy.models.models`.

    Importing `fhirpathpy.models` parses the tables of every version fhirpathpy ships (DSTU2 to R5),
    about a megabyte of JSON, when a run needs one version: here a version's files are read from
    fhirpathpy's `models/<version>/` folder the first time that version is asked for.
    """

    def __init__(self) -> None:
        self._loaded: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __getitem__(self, version: str) -> dict[str, Any]:
        tables = self._loaded.get(version)
        if tables is None:
            with self._lock:
                tables = self._loaded.setdefault(version, _read_tables(version))
        return tables

    def __iter__(self) -> Iterator[str]:
        folder = _models_folder()
        return iter(sorted(path.name for path in folder.iterdir() if any(path.glob("*.json"))))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _models_folder() -> Path:
    # find_spec locates a top-level package without importing it
    spec = importlib.util.find_spec("fhirpathpy")
    locations = spec.submodule_search_locations if spec is not None else None
    return Path(next(iter(locations or ["."]))) / "models"


def _read_tables(version: str) -> dict[str, Any]:
    folder = _models_folder()
    if not folder.is_dir():  # an installation that is not a plain folder: fhirpathpy's own loader knows it
        from fhirpathpy.models import models as every_version  # noqa: PLC0415

        if version not in every_version:
            raise KeyError(version)
        tables: dict[str, Any] = every_version[version]
        return tables
    files = sorted((folder / version).glob("*.json"))
    if not files:
        raise KeyError(version)
    return {path.stem: orjson.loads(path.read_bytes()) for path in files}


models: Mapping[str, Any] = _TypeTables()

ast_listener: Any = _ASTPathListener
lexer_class: Any = _FHIRPathLexer
parser_class: Any = _FHIRPathParser

_clock: Any = _constants


def reset_clock() -> None:
    """now()/today() are fixed per evaluation in fhirpathpy; start a new evaluation's clock."""
    _clock.reset()
