"""XML payloads to the FHIR JSON form, following the rules of the FHIR XML representation.

One streaming pass of expat builds the JSON form directly, so nesting never costs Python recursion. The
`TypeModel` decides what XML cannot say: which elements repeat (JSON arrays, even with one item), which are
primitives (their `value` attribute becomes a JSON string, number or boolean, and their `id` and extensions
go to a `_name` sibling), which hold an inline resource, and which are narrative XHTML (kept as a string).

Security follows defusedxml's policy, applied to expat directly because per-element positions are needed:
any document type declaration is refused before its content is read, which also refuses entity
declarations (billion laughs) and external entities (`file:///etc/passwd`); nothing is ever fetched.
Nesting and element counts are capped by `Limits`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum, auto
from typing import Any, NoReturn
from xml.parsers import expat

from defusedxml import DefusedXmlException, DTDForbidden, ExternalReferenceForbidden

from conformance.definitions.typemodel import ChildInfo, TypeModel
from conformance.instance.issues import error, fatal, snippet, too_many_nodes
from conformance.instance.parsed import IssueList, Limits, Parsed, Path, Position, location
from conformance.instance.xhtml import QName, XhtmlWriter
from conformance.outcome import Issue

FHIR_NAMESPACE = "http://hl7.org/fhir"
XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"

_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,3999})")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]{0,3999})(?:\.[0-9]{1,4000})?(?:[eE][+-]?[0-9]{1,9})?")
_INTEGER_TYPES = frozenset({"integer", "positiveInt", "unsignedInt"})
_TEXT_KEPT = 60


class _Kind(Enum):
    RESOURCE = auto()
    COMPLEX = auto()
    PRIMITIVE = auto()
    WRAPPER = auto()
    """An element whose content is one resource: `contained`, `Bundle.entry.resource`."""
    XHTML = auto()
    UNKNOWN = auto()
    """Not in the definitions: kept, best effort, for the validator to report."""
    SKIP = auto()
    """Dropped after an issue was raised for it."""


@dataclass(eq=False)
class _Frame:
    kind: _Kind
    key: str
    index: int | None
    """Position in the parent's array, or None for a single value."""
    path: Path
    start: Position = (0, 0)
    namespace_ok: bool = True
    type_name: str = ""
    element_path: str = ""
    obj: dict[str, Any] = field(default_factory=dict)
    """The JSON object; for a primitive, the `_name` object holding its id and extensions."""
    value: Any = None
    value_type: str = ""
    value_reported: bool = False
    """An issue about this primitive's value was raised already (an empty `value` attribute)."""
    counts: dict[str, int] = field(default_factory=dict)
    list_keys: set[str] = field(default_factory=set)
    primitive_lists: set[str] = field(default_factory=set)
    text: str = ""
    text_at: Position | None = None
    resource: dict[str, Any] | None = None
    xhtml: XhtmlWriter | None = None


class _Stop(Exception):
    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def read_xml(payload: bytes | str, model: TypeModel, limits: Limits) -> Parsed:
    """Parse one FHIR XML payload into the FHIR JSON form, with positions of every converted value."""
    converter = _Converter(model, limits)
    parser = _secure_parser(converter)
    converter.attach(parser)
    try:
        parser.Parse(payload, True)
    except expat.ExpatError as exc:
        return _unreadable(_syntax_issue(exc))
    except DefusedXmlException as exc:
        return _unreadable(_forbidden_issue(exc, parser))
    except _Stop as stop:
        return _unreadable(stop.issue)
    if converter.root is None:  # pragma: no cover - expat refuses documents without a root element
        return _unreadable(fatal("invalid", "xml.syntax", "the XML has no root element"))
    return Parsed.of(converter.root, "xml", converter.issues.freeze(), positions=converter.positions)


def _unreadable(issue: Issue) -> Parsed:
    return Parsed.of(None, "xml", (issue,))


def _secure_parser(converter: _Converter) -> Any:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.namespace_prefixes = True
    parser.ordered_attributes = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    # Entities can only be declared inside a DOCTYPE, so refusing it at its start refuses them all; the
    # external-entity handler is a second line, should expat ever be asked to resolve one.
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.ExternalEntityRefHandler = _refuse_external
    parser.StartElementHandler = converter.start
    parser.EndElementHandler = converter.end
    parser.CharacterDataHandler = converter.text
    parser.CommentHandler = converter.comment
    return parser


def _refuse_doctype(name: str, system_id: str | None, public_id: str | None, has_subset: int) -> NoReturn:
    raise DTDForbidden(name, system_id, public_id)


def _refuse_external(
    context: str, base: str | None, system_id: str | None, public_id: str | None
) -> NoReturn:
    raise ExternalReferenceForbidden(context, base, system_id, public_id)


def _syntax_issue(exc: expat.ExpatError) -> Issue:
    reason = expat.ErrorString(exc.code) if exc.code is not None else str(exc)
    return fatal(
        "invalid",
        "xml.syntax",
        f"the XML is not well formed: {reason}",
        position=(exc.lineno, exc.offset + 1),
    )


def _forbidden_issue(exc: DefusedXmlException, parser: Any) -> Issue:
    at = (parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
    if isinstance(exc, DTDForbidden):
        what = "a document type declaration (<!DOCTYPE>)"
        if exc.sysid or exc.pubid:
            what += f" referring to {exc.sysid or exc.pubid}"
    else:
        what = "a reference to an external entity"
    return fatal(
        "security",
        "xml.dtd-forbidden",
        f"the XML contains {what}; FHIR XML must not use DTDs or entities, so it was not read further",
        position=at,
    )


def _primitive_value(type_code: str, text: str) -> Any:
    """The JSON value of a primitive's `value` attribute; a literal that is not valid stays a string."""
    if type_code == "boolean":
        return {"true": True, "false": False}.get(text, text)
    if type_code in _INTEGER_TYPES:
        return int(text) if _INTEGER.fullmatch(text) else text
    if type_code == "decimal" and _DECIMAL.fullmatch(text):
        # The same reading as a JSON number: a fraction or exponent makes a Decimal, else an int.
        return Decimal(text) if any(mark in text for mark in ".eE") else int(text)
    return text


class _Converter:
    """expat handlers that build the JSON form on a stack of open elements."""

    def __init__(self, model: TypeModel, limits: Limits) -> None:
        self.model = model
        self.limits = limits
        self.issues = IssueList(limits.max_issues)
        self.root: dict[str, Any] | None = None
        self.root_type = "Resource"
        self._root_start: Position = (1, 1)
        self._stack: list[_Frame] = []
        self._depth = 0
        self._elements = 0
        self._records: dict[int, tuple[dict[str, Any], dict[str, list[Position]]]] = {}
        self._parser: Any = None

    def attach(self, parser: Any) -> None:
        self._parser = parser

    # -- expat handlers -------------------------------------------------------------------------------------

    def start(self, raw_name: str, attributes: list[str]) -> None:
        self._count_element()
        name = QName.parse(raw_name)
        top = self._stack[-1] if self._stack else None
        if top is not None and top.xhtml is not None:
            top.xhtml.start(name, attributes)
            return
        if top is not None:
            self._flush_text(top)
        at = self._position()
        frame = self._open(top, name, attributes, at)
        frame.start = at
        self._stack.append(frame)

    def end(self, raw_name: str) -> None:
        self._depth -= 1
        top = self._stack[-1]
        if top.xhtml is not None:
            top.xhtml.end(QName.parse(raw_name))
            if top.xhtml.depth:
                return
        self._stack.pop()
        self._flush_text(top)
        self._finish(top)

    def text(self, data: str) -> None:
        top = self._stack[-1] if self._stack else None
        if top is None or top.kind is _Kind.SKIP:
            return
        if top.xhtml is not None:
            top.xhtml.text(data)
        elif not data.isspace():
            if top.text_at is None:
                top.text_at = self._position()
            if len(top.text) < _TEXT_KEPT:
                top.text += data

    def comment(self, data: str) -> None:
        top = self._stack[-1] if self._stack else None
        if top is not None and top.xhtml is not None:
            top.xhtml.comment(data)

    # -- opening elements -----------------------------------------------------------------------------------

    def _open(self, parent: _Frame | None, name: QName, attributes: list[str], at: Position) -> _Frame:
        if parent is None:
            return self._open_root(name, attributes, at)
        if parent.kind is _Kind.SKIP:
            return _Frame(_Kind.SKIP, name.local, None, parent.path)
        if parent.kind is _Kind.WRAPPER:
            return self._open_contained(parent, name, attributes, at)
        info = None
        if parent.kind is not _Kind.UNKNOWN:
            info = self.model.child(parent.type_name, parent.element_path, name.local)
        if info is None:
            return self._open_unknown(parent, name, attributes, at)
        if info.is_xml_attribute:
            self._issue(
                "structure",
                "xml.attribute-as-element",
                f"'{name.local}' must be written as an attribute of its parent, not as an element",
                at,
                parent.path,
            )
            return _Frame(_Kind.SKIP, name.local, None, parent.path)
        return self._open_known(parent, name, attributes, info, at)

    def _open_root(self, name: QName, attributes: list[str], at: Position) -> _Frame:
        self.root_type = name.local
        self._root_start = at
        frame = _Frame(_Kind.RESOURCE, name.local, None, (), type_name=name.local, element_path=name.local)
        frame.obj["resourceType"] = name.local
        self.root = frame.obj
        self._check_namespace(frame, None, name, FHIR_NAMESPACE, at)
        self._read_attributes(frame, attributes, at)
        return frame

    def _open_contained(self, wrapper: _Frame, name: QName, attributes: list[str], at: Position) -> _Frame:
        if wrapper.resource is not None:
            self._issue(
                "structure",
                "xml.resource-expected",
                f"'{wrapper.key}' holds exactly one resource; the extra element '{name.local}' was ignored",
                at,
                wrapper.path,
            )
            return _Frame(_Kind.SKIP, name.local, None, wrapper.path)
        frame = _Frame(
            _Kind.RESOURCE,
            wrapper.key,
            wrapper.index,
            wrapper.path,
            type_name=name.local,
            element_path=name.local,
        )
        frame.obj["resourceType"] = name.local
        wrapper.resource = frame.obj
        parent = self._stack[-2]
        self._set_slot(parent.obj, wrapper.key, wrapper.index, frame.obj)
        self._records[id(parent.obj)][1][wrapper.key][-1] = at
        self._check_namespace(frame, wrapper, name, FHIR_NAMESPACE, at)
        self._read_attributes(frame, attributes, at)
        return frame

    def _open_unknown(self, parent: _Frame, name: QName, attributes: list[str], at: Position) -> _Frame:
        index, path = self._claim(parent, name.local, repeats=False, primitive=False, at=at)
        frame = _Frame(_Kind.UNKNOWN, name.local, index, path)
        self._set_slot(parent.obj, name.local, index, frame.obj)
        self._check_namespace(frame, parent, name, FHIR_NAMESPACE, at)
        for position in range(0, len(attributes), 2):
            frame.obj[QName.parse(attributes[position]).written] = attributes[position + 1]
        return frame

    def _open_known(
        self, parent: _Frame, name: QName, attributes: list[str], info: ChildInfo, at: Position
    ) -> _Frame:
        index, path = self._claim(
            parent, name.local, repeats=info.repeats, primitive=info.is_primitive, at=at
        )
        kind = self._kind_of(info)
        frame = _Frame(
            kind, name.local, index, path, type_name=info.element_type, element_path=info.element_path
        )
        frame.value_type = info.type_code or ""
        if kind is _Kind.XHTML:
            self._check_namespace(frame, parent, name, XHTML_NAMESPACE, at)
            frame.xhtml = XhtmlWriter()
            frame.xhtml.start(name, attributes)
            return frame
        if kind is not _Kind.PRIMITIVE:
            self._set_slot(parent.obj, name.local, index, None if kind is _Kind.WRAPPER else frame.obj)
        self._check_namespace(frame, parent, name, FHIR_NAMESPACE, at)
        self._read_attributes(frame, attributes, at)
        return frame

    def _kind_of(self, info: ChildInfo) -> _Kind:
        if info.is_xhtml:
            return _Kind.XHTML
        if info.is_primitive:
            return _Kind.PRIMITIVE
        if info.type_code is not None and self.model.is_resource(info.type_code):
            return _Kind.WRAPPER
        return _Kind.COMPLEX

    def _claim(
        self, parent: _Frame, key: str, *, repeats: bool, primitive: bool, at: Position
    ) -> tuple[int | None, Path]:
        """The place of a new child in its parent: an array index, or None for a single value."""
        seen = parent.counts.get(key, 0)
        parent.counts[key] = seen + 1
        if not repeats and key not in parent.list_keys and seen:
            self._make_array(parent, key, primitive)
        index = seen if repeats or key in parent.list_keys else None
        if index is not None:
            parent.obj.setdefault(key, [])
            if primitive:
                parent.obj.setdefault("_" + key, [])
                parent.primitive_lists.add(key)
        self._record(parent.obj, key, at)
        if primitive:
            self._record(parent.obj, "_" + key, at)
        return index, (*parent.path, key) if index is None else (*parent.path, key, index)

    def _make_array(self, parent: _Frame, key: str, primitive: bool) -> None:
        # A single-valued element given twice: both are kept as an array, for the validator to report.
        parent.list_keys.add(key)
        parent.obj[key] = [parent.obj.get(key)]
        if primitive:
            parent.obj["_" + key] = [parent.obj.get("_" + key)]
            parent.primitive_lists.add(key)

    def _read_attributes(self, frame: _Frame, attributes: list[str], at: Position) -> None:
        for position in range(0, len(attributes), 2):
            name = QName.parse(attributes[position])
            value = attributes[position + 1]
            if not name.namespace and self._is_known_attribute(frame, name.local):
                self._read_attribute(frame, name.local, value, at)
            else:
                self._issue(
                    "structure",
                    "xml.unknown-attribute",
                    f"the attribute '{name.written}' is not defined on '{frame.key}'",
                    at,
                    frame.path,
                )

    def _is_known_attribute(self, frame: _Frame, name: str) -> bool:
        if frame.kind is _Kind.PRIMITIVE and name == "value":
            return True
        if frame.kind is _Kind.WRAPPER:
            return False
        info = self.model.child(frame.type_name, frame.element_path, name)
        return info is not None and info.is_xml_attribute

    def _read_attribute(self, frame: _Frame, name: str, value: str, at: Position) -> None:
        if not value.strip():
            self._issue(
                "invalid",
                "xml.empty-attribute",
                f"the attribute '{name}' on '{frame.key}' is empty; "
                "FHIR XML attributes are either absent or have content",
                at,
                frame.path,
            )
            frame.value_reported = frame.value_reported or name == "value"
        elif name == "value" and frame.kind is _Kind.PRIMITIVE:
            frame.value = _primitive_value(frame.value_type, value)
        else:
            frame.obj[name] = value
            self._record(frame.obj, name, at)

    # -- closing elements -----------------------------------------------------------------------------------

    def _finish(self, frame: _Frame) -> None:
        _drop_empty_arrays(frame)
        parent = self._stack[-1] if self._stack else None
        if parent is None or frame.kind in (_Kind.SKIP, _Kind.RESOURCE, _Kind.COMPLEX):
            return
        if frame.kind is _Kind.PRIMITIVE:
            self._place_primitive(parent, frame)
        elif frame.kind is _Kind.XHTML and frame.xhtml is not None:
            self._set_slot(parent.obj, frame.key, frame.index, frame.xhtml.result())
        elif frame.kind is _Kind.WRAPPER and frame.resource is None:
            self._issue(
                "structure",
                "xml.resource-expected",
                f"'{frame.key}' must contain a resource, but it is empty",
                frame.start,
                frame.path,
            )
            if frame.index is None:
                del parent.obj[frame.key]
        elif frame.kind is _Kind.UNKNOWN and set(frame.obj) == {"value"}:
            self._set_slot(parent.obj, frame.key, frame.index, frame.obj["value"])

    def _place_primitive(self, parent: _Frame, frame: _Frame) -> None:
        extended = frame.obj if frame.obj else None
        if frame.value is None and "extension" not in frame.obj:
            if not frame.value_reported:
                self._issue(
                    "required",
                    "xml.value-missing",
                    f"'{frame.key}' has neither a value attribute nor extensions",
                    frame.start,
                    frame.path,
                )
            extended = None
        if frame.index is not None:
            parent.obj[frame.key].append(frame.value)
            parent.obj["_" + frame.key].append(extended)
            return
        if frame.value is not None:
            parent.obj[frame.key] = frame.value
        if extended is not None:
            parent.obj["_" + frame.key] = extended

    def _set_slot(self, obj: dict[str, Any], key: str, index: int | None, value: Any) -> None:
        if index is None:
            obj[key] = value
            return
        items = obj[key]
        if index < len(items):
            items[index] = value
        else:
            items.append(value)

    # -- checks and bookkeeping -----------------------------------------------------------------------------

    def _count_element(self) -> None:
        self._depth += 1
        self._elements += 1
        if self._depth > self.limits.max_depth:
            raise _Stop(
                fatal(
                    "too-costly",
                    "xml.too-deep",
                    f"the XML nests elements more than {self.limits.max_depth} levels deep",
                    position=self._position(),
                )
            )
        if self._elements > self.limits.max_nodes:
            raise _Stop(too_many_nodes(self.limits.max_nodes))

    def _check_namespace(
        self, frame: _Frame, parent: _Frame | None, name: QName, expected: str, at: Position
    ) -> None:
        frame.namespace_ok = name.namespace == expected
        # One issue where a wrong namespace starts, not one for every element inside it.
        if frame.namespace_ok or (parent is not None and not parent.namespace_ok):
            return
        found = f"the namespace '{name.namespace}'" if name.namespace else "no namespace"
        self._issue(
            "structure",
            "xml.namespace",
            f"the element '{name.local}' has {found}; it must be in '{expected}'",
            at,
            frame.path,
        )

    def _flush_text(self, frame: _Frame) -> None:
        if frame.text_at is None:
            return
        self._issue(
            "structure",
            "xml.text-not-allowed",
            f"text is not allowed in '{frame.key}' (found '{snippet(frame.text)}')",
            frame.text_at,
            frame.path,
        )
        frame.text, frame.text_at = "", None

    def _issue(self, code: str, message_id: str, message: str, at: Position, path: Path) -> None:
        self.issues.add(
            error(code, message_id, message, position=at, location=location(self.root_type, path))
        )

    def _position(self) -> Position:
        return self._parser.CurrentLineNumber, self._parser.CurrentColumnNumber + 1

    def _record(self, obj: dict[str, Any], key: str, at: Position) -> None:
        entry = self._records.get(id(obj))
        if entry is None:
            entry = self._records[id(obj)] = (obj, {})
        entry[1].setdefault(key, []).append(at)

    def positions(self) -> _RecordedPositions:
        """Every recorded start position, by the JSON path the value ended up at (found when asked)."""
        return _RecordedPositions(self.root, self._root_start, self._records)


class _RecordedPositions:
    """The start tags recorded while converting, found by walking a path through the converted value.

    Only the paths asked for are looked up: a table of every path would cost a large payload more than
    its tree. A value's position is the start of the element it came from: the n-th item of a repeating
    element is its n-th occurrence; a list itself, and a path that is not in the value, have none.
    """

    def __init__(
        self,
        root: dict[str, Any] | None,
        root_start: Position,
        records: dict[int, tuple[dict[str, Any], dict[str, list[Position]]]],
    ) -> None:
        self._root = root
        self._root_start = root_start
        self._records = records

    def get(self, path: Path) -> Position | None:
        if self._root is None:
            return None
        if not path:
            return self._root_start
        obj: Any = self._root
        position: Position | None = None
        at = 0
        while at < len(path):
            key = path[at]
            if not isinstance(key, str) or not isinstance(obj, dict) or key not in obj:
                return None
            starts, value, at = self._starts(obj, key), obj[key], at + 1
            occurrence = 0
            if isinstance(value, list):
                index = path[at] if at < len(path) else None
                if not isinstance(index, int) or not 0 <= index < len(value):
                    return None  # a list has no position of its own; its items do
                occurrence, value, at = index, value[index], at + 1
            position = starts[occurrence] if occurrence < len(starts) else None
            obj = value
        return position

    def _starts(self, obj: dict[str, Any], key: str) -> list[Position]:
        entry = self._records.get(id(obj))
        return entry[1].get(key, []) if entry is not None and entry[0] is obj else []


def _drop_empty_arrays(frame: _Frame) -> None:
    """Remove value or `_name` arrays of repeating primitives that hold nothing but nulls."""
    for key in frame.primitive_lists:
        for name in (key, "_" + key):
            if name in frame.obj and all(item is None for item in frame.obj[name]):
                del frame.obj[name]
