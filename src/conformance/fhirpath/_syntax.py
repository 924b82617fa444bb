"""Parsing FHIRPath text into fhirpathpy's syntax tree, strictly, and adapting the tree.

fhirpathpy's own `parse` ignores syntax errors and trailing garbage (`a b` parses as
`a`), so this module drives its generated ANTLR parser with an error listener that
raises and with the grammar's whole-input rule. The tree is then checked (known
functions with a valid number of parameters, known %variables) and rewritten so that
evaluation goes through this package's FHIR-aware functions:

- every member access (`name`, `value`) becomes a call of the private navigation
  function, which understands choice types and the `_name` siblings of primitives;
- `and`, `or` and `implies` become calls that evaluate their right operand only when
  the left one does not decide, as the HL7 validator does;
- `%'name'` constants get the identifier child the evaluator expects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from conformance.fhirpath import _fhirpathpy
from conformance.fhirpath.errors import FhirPathError

Node = dict[str, Any]

MEMBER_FUNCTION = "__fhir_member"
SHORT_CIRCUIT_FUNCTIONS = {"and": "__fhir_and", "or": "__fhir_or", "implies": "__fhir_implies"}

# Long expressions are legitimate (dom-3 is ~600 characters); this bound only stops
# absurd input from reaching the recursive-descent parser.
MAX_EXPRESSION_LENGTH = 20_000


@dataclass(frozen=True)
class Signature:
    """How many parameters a function accepts, and whether it is supported at all."""

    arities: frozenset[int]
    unsupported_reason: str | None = None


@dataclass(frozen=True)
class ParsedExpression:
    tree: Node
    functions: frozenset[str]
    constants: frozenset[str]


@cache
def _raising_listener_class() -> Any:
    # ANTLR (with fhirpathpy) is imported by the first parse, not with this module.
    from antlr4.error.ErrorListener import ErrorListener  # type: ignore[import-untyped]  # noqa: PLC0415

    class _RaisingListener(ErrorListener):  # type: ignore[misc]
        def syntaxError(  # noqa: PLR0917 - ANTLR's callback, named and shaped by ANTLR
            self, recognizer: Any, offendingSymbol: Any, line: int, column: int, msg: str, e: Any
        ) -> None:
            raise FhirPathError(f"FHIRPath syntax error at column {column + 1}: {msg}")

    return _RaisingListener


def parse(
    text: str,
    signatures: Mapping[str, Signature],
    is_known_constant: Callable[[str], bool],
) -> ParsedExpression:
    """Parse, check and rewrite `text`; raise FhirPathError with a one-line reason."""
    if not text.strip():
        raise FhirPathError("empty FHIRPath expression")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise FhirPathError(f"FHIRPath expression longer than {MAX_EXPRESSION_LENGTH} characters")
    tree = _parse_tree(text)
    functions = frozenset(_function_names(tree))
    constants = frozenset(_constant_names(tree))
    _check_functions(tree, signatures)
    unknown = sorted(name for name in constants if not is_known_constant(name))
    if unknown:
        raise FhirPathError(f"unknown FHIRPath variable %{unknown[0]}")
    return ParsedExpression(tree=_rewrite(tree), functions=functions, constants=constants)


def _parse_tree(text: str) -> Node:
    from antlr4 import CommonTokenStream, InputStream  # type: ignore[import-untyped]  # noqa: PLC0415
    from antlr4.tree.Tree import ParseTreeWalker  # type: ignore[import-untyped]  # noqa: PLC0415

    listener = _raising_listener_class()()
    lexer = _fhirpathpy.lexer_class(InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    parser = _fhirpathpy.parser_class(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    builder = _fhirpathpy.ast_listener()
    try:
        ParseTreeWalker().walk(builder, parser.entireExpression())
    except RecursionError:
        raise FhirPathError("FHIRPath expression nested too deeply") from None
    except FhirPathError:
        raise
    except Exception as exc:  # the generated lexer raises its own types on bad characters
        raise FhirPathError(f"FHIRPath syntax error: {type(exc).__name__}") from None
    entire: Node = builder.parentStack[0]["children"][0]
    expression: Node = entire["children"][0]
    return expression


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.get("children", ()))


def _function_call(node: Node) -> tuple[str, list[Node]] | None:
    if node.get("type") != "FunctionInvocation":
        return None
    functn = node["children"][0]
    name = _identifier_text(functn["children"][0])
    params = functn["children"][1]["children"] if len(functn["children"]) > 1 else []
    return name, params


def _identifier_text(node: Node) -> str:
    text: str = node.get("text", "")
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "`\"'":
        return text[1:-1]
    return text


def _function_names(tree: Node) -> Iterator[str]:
    for node in _walk(tree):
        call = _function_call(node)
        if call is not None:
            yield call[0]


def _constant_names(tree: Node) -> Iterator[str]:
    for node in _walk(tree):
        if node.get("type") == "ExternalConstant":
            yield _constant_name(node)


def _constant_name(node: Node) -> str:
    children = node.get("children")
    if children:
        return _identifier_text(children[0])
    # `%'name'` form: the name is the quoted terminal after the percent sign
    quoted = node["terminalNodeText"][-1]
    return _identifier_text({"text": quoted})


def _check_functions(tree: Node, signatures: Mapping[str, Signature]) -> None:
    for node in _walk(tree):
        call = _function_call(node)
        if call is None:
            continue
        name, params = call
        signature = signatures.get(name)
        if signature is None:
            raise FhirPathError(f"unknown FHIRPath function {name}()")
        if signature.unsupported_reason:
            raise FhirPathError(
                f"FHIRPath function {name}() is not supported: {signature.unsupported_reason}"
            )
        if len(params) not in signature.arities:
            expected = " or ".join(str(n) for n in sorted(signature.arities))
            raise FhirPathError(
                f"FHIRPath function {name}() takes {expected} parameter(s), got {len(params)}"
            )


def _rewrite(node: Node) -> Node:
    """A copy of the tree with member access and short-circuit operators redirected."""
    kind = node.get("type")
    if kind == "MemberInvocation":
        return _call_node(MEMBER_FUNCTION, [_identifier_param(_identifier_text(node["children"][0]))])
    if kind == "ExternalConstant" and not node.get("children"):
        return {**node, "children": [{"type": "Identifier", "text": _constant_name(node)}]}
    if kind == "TypeSpecifier" or _is_type_parameter_holder(node):
        return node  # read through its text, never evaluated
    children = [_rewrite(child) for child in node.get("children", ())]
    operator = (node.get("terminalNodeText") or [None])[0]
    if kind in ("AndExpression", "OrExpression", "ImpliesExpression") and operator in SHORT_CIRCUIT_FUNCTIONS:
        return _call_node(SHORT_CIRCUIT_FUNCTIONS[operator], children)
    if "children" in node:
        return {**node, "children": children}
    return node


_TYPE_PARAMETER_FUNCTIONS = frozenset({"is", "as", "ofType"})


def _is_type_parameter_holder(node: Node) -> bool:
    call = _function_call(node)
    return call is not None and call[0] in _TYPE_PARAMETER_FUNCTIONS


def _identifier_param(name: str) -> Node:
    # fhirpathpy hands an "Identifier" parameter over as the text of a TermExpression,
    # which costs nothing at evaluation time (a string literal would be re-parsed).
    return {"type": "TermExpression", "text": name, "terminalNodeText": []}


def _call_node(function: str, params: list[Node]) -> Node:
    return {
        "type": "FunctionInvocation",
        "terminalNodeText": [],
        "children": [
            {
                "type": "Functn",
                "terminalNodeText": ["(", ")"],
                "children": [
                    {"type": "Identifier", "text": function, "terminalNodeText": [function]},
                    {"type": "ParamList", "terminalNodeText": [], "children": params},
                ],
            }
        ],
    }
