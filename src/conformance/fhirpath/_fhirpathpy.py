"""Every name this package takes from fhirpathpy, typed at the boundary, and loaded on first use.

fhirpathpy has no type annotations; mypy --strict refuses calls into untyped code, so
its callables are re-exported here as `Any`-typed values and the rest of the package
imports from this module only. This also lists, in one place, exactly which parts of
fhirpathpy (2.2.x) the adapter relies on.

Importing fhirpathpy (its ANTLR parser, its evaluator, dateutil) costs more than a
one-file validation whose invariants all have fast paths, so nothing here imports it
until one of its names is first read: use them as attributes of this module
(`_fhirpathpy.make_node(...)`), read when called, never with `from ... import` at
the top of a module. `loaded()` says whether any fhirpathpy value can exist yet.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:  # provided by __getattr__ below, from fhirpathpy, on first use
    FP_DateTime: Any
    FP_Quantity: Any
    FP_Time: Any
    FP_Type: Any
    ResourceNode: Any
    # A node of fhirpathpy's evaluation: (JSON value, type or element path, `_name` sibling).
    make_node: Any
    # do_eval(ctx, input collection, syntax tree) -> result collection
    evaluate_tree: Any
    # fhirpathpy's own functions and operators: name -> {"fn": ..., "arity": {...}, ...}
    builtin_functions: Mapping[str, Any]
    ast_listener: Any
    lexer_class: Any
    parser_class: Any

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

_LAZY_NAMES = frozenset(set(__all__) - {"models", "reset_clock"} | {"_clock"})
_NODES_MODULE = "fhirpathpy.engine.nodes"
_load_lock = threading.Lock()


def loaded() -> bool:
    """Whether fhirpathpy is imported (by this module or anyone): before that, none of its values exist."""
    return _NODES_MODULE in sys.modules


def _load() -> dict[str, Any]:
    # Imported here, on first use: see the module's docstring.
    from fhirpathpy.engine import do_eval  # noqa: PLC0415
    from fhirpathpy.engine.invocations import invocation_registry  # noqa: PLC0415
    from fhirpathpy.engine.invocations.constants import constants  # noqa: PLC0415
    from fhirpathpy.engine.nodes import FP_DateTime, FP_Quantity, FP_Time, FP_Type, ResourceNode  # noqa: PLC0415
    from fhirpathpy.parser.ASTPathListener import ASTPathListener  # noqa: PLC0415
    from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer  # noqa: PLC0415
    from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser  # noqa: PLC0415

    return {
        "FP_DateTime": FP_DateTime,
        "FP_Quantity": FP_Quantity,
        "FP_Time": FP_Time,
        "FP_Type": FP_Type,
        "ResourceNode": ResourceNode,
        "make_node": ResourceNode,
        "evaluate_tree": do_eval,
        "builtin_functions": invocation_registry,
        "ast_listener": ASTPathListener,
        "lexer_class": FHIRPathLexer,
        "parser_class": FHIRPathParser,
        "_clock": constants,
    }


def __getattr__(name: str) -> Any:
    if name not in _LAZY_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    names = globals()
    with _load_lock:
        if "_clock" not in names:
            names.update(_load())
    return names[name]


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


def reset_clock() -> None:
    """now()/today() are fixed per evaluation in fhirpathpy; start a new evaluation's clock."""
    __getattr__("_clock").reset()
