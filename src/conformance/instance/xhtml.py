"""Narrative XHTML, re-serialised from parser events into the string FHIR JSON carries for `div`.

The JSON form of a narrative is the `div` element written out as XML with the XHTML namespace declared on it
(`<div xmlns="http://www.w3.org/1999/xhtml">...</div>`), whatever prefixes or inherited declarations the XML
payload used. Text and attribute values are escaped again; comments are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"

_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTRIBUTE_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
)


@dataclass(frozen=True)
class QName:
    """An expanded XML name as expat reports it with namespace processing: `uri local [prefix]`."""

    namespace: str
    local: str
    prefix: str = ""

    @classmethod
    def parse(cls, name: str) -> QName:
        parts = name.split(" ")
        if len(parts) == 1:
            return cls("", parts[0])
        if len(parts) == 2:
            return cls(parts[0], parts[1])
        return cls(parts[0], parts[1], parts[2])

    @property
    def written(self) -> str:
        return f"{self.prefix}:{self.local}" if self.prefix else self.local


@dataclass
class _Scope:
    default_namespace: str | None
    prefixes: dict[str, str] = field(default_factory=dict)


class XhtmlWriter:
    """Collects the events of one `div` subtree; `depth` is how many of its elements are open."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._scopes: list[_Scope] = [_Scope(default_namespace=None)]
        self._tag_open = False
        self.depth = 0

    def start(self, name: QName, attributes: list[str]) -> None:
        self._close_start_tag()
        parent = self._scopes[-1]
        scope = _Scope(parent.default_namespace, dict(parent.prefixes))
        declarations: list[tuple[str, str]] = []
        # Elements are written unprefixed, declaring the default namespace where it changes, so the root
        # comes out as FHIR JSON wants it: <div xmlns="http://www.w3.org/1999/xhtml">.
        if name.namespace != scope.default_namespace and (name.namespace or scope.default_namespace):
            scope.default_namespace = name.namespace
            declarations.append(("xmlns", name.namespace))
        written = [
            _attribute(QName.parse(attributes[i]), scope, declarations) for i in range(0, len(attributes), 2)
        ]
        self._parts.append(f"<{name.local}")
        for attribute_name, value in (*declarations, *zip(written, attributes[1::2], strict=True)):
            self._parts.append(f' {attribute_name}="{value.translate(_ATTRIBUTE_ESCAPES)}"')
        self._scopes.append(scope)
        self._tag_open = True
        self.depth += 1

    def end(self, name: QName) -> None:
        if self._tag_open:
            self._parts.append("/>")
            self._tag_open = False
        else:
            self._parts.append(f"</{name.local}>")
        self._scopes.pop()
        self.depth -= 1

    def text(self, data: str) -> None:
        self._close_start_tag()
        self._parts.append(data.translate(_TEXT_ESCAPES))

    def comment(self, data: str) -> None:
        self._close_start_tag()
        self._parts.append(f"<!--{data}-->")

    def result(self) -> str:
        return "".join(self._parts)

    def _close_start_tag(self) -> None:
        if self._tag_open:
            self._parts.append(">")
            self._tag_open = False


def _attribute(name: QName, scope: _Scope, declarations: list[tuple[str, str]]) -> str:
    if name.prefix and name.namespace != XML_NAMESPACE:
        _declare(scope, name.prefix, name.namespace, declarations)
    return name.written


def _declare(scope: _Scope, prefix: str, namespace: str, declarations: list[tuple[str, str]]) -> None:
    if scope.prefixes.get(prefix) != namespace:
        scope.prefixes[prefix] = namespace
        declarations.append((f"xmlns:{prefix}", namespace))
