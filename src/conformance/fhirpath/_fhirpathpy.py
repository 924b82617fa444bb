"""Every name this package takes from fhirpathpy, typed at the boundary.

fhirpathpy has no type annotations; mypy --strict refuses calls into untyped code, so
its callables are re-exported here as `Any`-typed values and the rest of the package
imports from this module only. This also lists, in one place, exactly which parts of
fhirpathpy (2.2.x) the adapter relies on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhirpathpy.engine import do_eval as _do_eval
from fhirpathpy.engine.invocations import invocation_registry as _invocation_registry
from fhirpathpy.engine.invocations.constants import constants as _constants
from fhirpathpy.engine.nodes import FP_DateTime, FP_Quantity, FP_Time, FP_Type, ResourceNode
from fhirpathpy.models import models as _models
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

# per FHIR version ("r4", "stu3"): path2Type, choiceTypePaths, type2Parent, pathsDefinedElsewhere
models: Mapping[str, Any] = _models

ast_listener: Any = _ASTPathListener
lexer_class: Any = _FHIRPathLexer
parser_class: Any = _FHIRPathParser

_clock: Any = _constants


def reset_clock() -> None:
    """now()/today() are fixed per evaluation in fhirpathpy; start a new evaluation's clock."""
    _clock.reset()
