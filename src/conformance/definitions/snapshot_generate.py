"""The snapshot of one StructureDefinition: its base's snapshot with its differential applied.

The base snapshot becomes a tree (snapshot_tree), the differential another
(snapshot_diff), and the second is walked over the first:

- a differential element constrains the base element of the same name, or the
  choice element it renames (`valueQuantity` narrows `value[x]` to Quantity;
  several renamings of one choice become type slices of it);
- constraints below an element whose children the base does not list unfold
  them first, from the element's type profile, its datatype or its
  `contentReference`;
- a new slice starts as a copy of the element it slices, as the base defined it;
  an extension slice also takes the extension definition's documentation and
  cardinality, and a type slice (`value[x]:valueQuantity`) is narrowed to its
  type. The only "slice" of an element that nothing slices constrains the
  element itself, as the HL7 tools and Forge read it;
- ids and paths are written from the tree at the end.

Everything wrong with the differential is reported as an Issue about the
profile; generation goes on with what can be applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from conformance.definitions.elements import (
    Element,
    elements_of,
    is_choice,
    max_value,
    min_value,
    renamed_choice_type,
    single_type_profile,
    type_codes,
    types_of,
)
from conformance.definitions.snapshot_diff import DiffNode, absorb_redundant_slice, build_diff_tree
from conformance.definitions.snapshot_merge import Finding, constrain
from conformance.definitions.snapshot_tree import Node, clone, flatten
from conformance.outcome import Issue, Severity

# What an extension slice takes from the extension's own root element when the differential is silent.
_EXTENSION_DOCUMENTATION = ("short", "definition", "comment", "requirements", "alias", "isModifier")
_TYPE_SLICING = {"discriminator": [{"type": "type", "path": "$this"}], "ordered": False, "rules": "open"}
_URL_SLICING = {"discriminator": [{"type": "value", "path": "url"}], "ordered": False, "rules": "open"}

_SEVERITY = {
    "snapshot.no-base": Severity.FATAL,
    "snapshot.circular-base": Severity.FATAL,
    "snapshot.unresolved-profile": Severity.WARNING,
    "snapshot.profile-type-mismatch": Severity.WARNING,
    "snapshot.slice-without-slicing": Severity.WARNING,
}


class Resolver(Protocol):
    """What generation needs from its surroundings: other definitions' snapshots, as trees."""

    def tree(self, url_or_type: str) -> Node | None:
        """The pristine snapshot tree of a definition (generated first when needed). Never mutate it."""

    def derives(self, code: str, base_code: str) -> bool:
        """Whether type `code` is `base_code` or a profile/specialisation of it."""

    def why_missing(self, url_or_type: str) -> tuple[str, str] | None:
        """(message id, message) saying why `tree(url_or_type)` gave None, when known."""


def generate(sd: Mapping[str, Any], resolver: Resolver) -> tuple[dict[str, Any], list[Issue]]:
    """The StructureDefinition with a snapshot generated from its differential, and the problems met."""
    generation = _Generation(sd, resolver)
    snapshot = generation.run()
    result = dict(sd)
    if snapshot is not None:
        result["snapshot"] = {"element": snapshot}
    # The same problem can be met twice (a type profile checked when applied and again when unfolded).
    return result, list(dict.fromkeys(generation.issues))


@dataclass
class _Generation:
    sd: Mapping[str, Any]
    resolver: Resolver
    issues: list[Issue] = field(default_factory=list)
    base: Node | None = None

    @property
    def url(self) -> str:
        return str(self.sd.get("url", ""))

    @property
    def specialization(self) -> bool:
        return self.sd.get("derivation") == "specialization"

    def run(self) -> list[Element] | None:
        base_url = self.sd.get("baseDefinition")
        if not isinstance(base_url, str) or not base_url:
            self.report(None, "snapshot.no-base", "the StructureDefinition has no baseDefinition")
            return None
        base = self.resolver.tree(base_url)
        if base is None:
            message_id, why = self.resolver.why_missing(base_url) or ("snapshot.no-base", "")
            if message_id != "snapshot.circular-base":
                message_id, why = "snapshot.no-base", f"base definition {base_url} cannot be found"
            self.report(None, message_id, why)
            return None
        self.base = base
        working = base.copy()
        root_name = self._root_name(working)
        if self.specialization:
            working.name = root_name
            working.element["base"] = {"path": root_name, "min": 0, "max": "*"}
        diff = build_diff_tree(elements_of(self.sd, "differential"), working.name)
        for index in diff.too_deep:
            self._report_at(index, "snapshot.invalid-value", "a path deeper than any definition allows")
        for stray in diff.children if diff.name != working.name else ():
            self._unmatched(stray)
        self.merge(working, diff, new_slice=False)
        return flatten(working)

    def _root_name(self, working: Node) -> str:
        type_name = self.sd.get("type")
        return type_name.rsplit("/", 1)[-1] if isinstance(type_name, str) and type_name else working.name

    # --- issues ----------------------------------------------------------------------------------

    def report(self, at: DiffNode | None, message_id: str, message: str) -> None:
        """An issue about differential node `at` (None: about the whole definition)."""
        if at is None:
            self._report_at(None, message_id, message)
        else:
            self._report_at(at.first_index(), message_id, message, at.label)

    def _report_at(
        self, index: int | None, message_id: str, message: str, element_id: str | None = None
    ) -> None:
        self.issues.append(
            Issue(
                severity=_SEVERITY.get(message_id, Severity.ERROR),
                code="structure",
                message_id=message_id,
                message=f"{element_id or self.url}: {message}",
                location=f"StructureDefinition.differential.element[{index}]" if index is not None else "",
                profile=self.url or None,
                element_id=element_id,
            )
        )

    def _findings(self, at: DiffNode, findings: list[Finding]) -> None:
        for finding in findings:
            self.report(at, finding.message_id, finding.message)

    def _unmatched(self, diff: DiffNode) -> None:
        self.report(diff, "snapshot.no-base-element", "matches no element of the base")

    # --- the walk --------------------------------------------------------------------------------

    def merge(self, node: Node, diff: DiffNode, *, new_slice: bool) -> None:
        template = node.copy(with_slices=False) if diff.slices else None
        for duplicate in diff.duplicates:
            message = "the differential constrains this element more than once"
            self._report_at(duplicate, "snapshot.duplicate-element", message, diff.label)
        if diff.element is not None:
            self._apply(node, diff, new_slice=new_slice)
        if diff.children:
            self._merge_children(node, diff)
        for diff_slice in diff.slices:
            assert template is not None
            self._merge_slice(node, diff_slice, template, alone=len(diff.slices) == 1)

    def _apply(self, node: Node, diff: DiffNode, *, new_slice: bool) -> None:
        assert diff.element is not None
        findings = constrain(
            node.element,
            diff.element,
            profile_url=self.url,
            is_new_slice=new_slice,
            derives=self.resolver.derives,
        )
        self._findings(diff, findings)
        if "type" in diff.element:
            self._merge_type_profile(node, diff)

    def _merge_type_profile(self, node: Node, diff: DiffNode) -> None:
        """An element the differential gives a type profile takes that profile's root constraints.

        An extension slice also takes the extension's documentation where the differential is silent.
        """
        assert diff.element is not None
        definition = self._type_profile(node, diff)
        if definition is None:
            return
        _add_constraints(node.element, definition.element)
        if _is_extension(node.element):
            for key in _EXTENSION_DOCUMENTATION:
                if key not in diff.element and key in definition.element:
                    node.element[key] = clone(definition.element[key])
            _tighten_cardinality(node.element, definition.element, diff.element)

    def _type_profile(self, node: Node, diff: DiffNode) -> Node | None:
        """The snapshot tree of the one profile the element's type names, if it can be used."""
        profile = single_type_profile(node.element)
        codes = type_codes(node.element)
        if profile is None or len(codes) != 1:
            return None
        definition = self.resolver.tree(profile)
        if definition is None:
            self.report(diff, "snapshot.unresolved-profile", f"type profile {profile} cannot be found")
            return None
        if definition.name != codes[0] and not self.resolver.derives(definition.name, codes[0]):
            self.report(
                diff,
                "snapshot.profile-type-mismatch",
                f"type profile {profile} constrains {definition.name}, not {codes[0]}: ignored",
            )
            return None
        return definition

    def _merge_children(self, node: Node, diff: DiffNode) -> None:
        if not node.children and not self._unfold(node, diff):
            return
        renamed = self._renamed_choices(node, diff)
        for diff_child in diff.children:
            target = node.child(diff_child.name)
            if target is not None:
                self.merge(target, diff_child, new_slice=False)
            elif diff_child.name in renamed:
                choice, code = renamed[diff_child.name]
                codes = [c for n, c in renamed.values() if n is choice]
                self._merge_renamed(choice, code, absorb_redundant_slice(diff_child), codes)
            elif self.specialization:
                node.children.append(self._new_element(node, diff_child))
            else:
                self._unmatched(diff_child)

    def _renamed_choices(self, node: Node, diff: DiffNode) -> dict[str, tuple[Node, str]]:
        """Differential children that rename a choice element of `node` (`valueQuantity`), with the type."""
        found: dict[str, tuple[Node, str]] = {}
        choices = [child for child in node.children if is_choice(child.name)]
        for diff_child in diff.children:
            if node.child(diff_child.name) is not None:
                continue
            for choice in choices:
                code = _renamed_type(diff_child.name, choice)
                if code is not None:
                    found[diff_child.name] = (choice, code)
                    break
        return found

    def _merge_renamed(self, choice: Node, code: str, diff: DiffNode, codes: list[str]) -> None:
        """`valueQuantity` constrains `value[x]` narrowed to Quantity; when the differential renames one
        choice element to several types, each renaming becomes a type slice of it."""
        existing = choice.slice(diff.name)
        if existing is not None:
            self.merge(existing, diff, new_slice=False)
            return
        self._narrow(choice, codes)
        if len(codes) == 1:
            self.merge(choice, diff, new_slice=False)
            return
        choice.element.setdefault("slicing", {**clone(_TYPE_SLICING), "rules": "closed"})
        self._add_slice(choice, choice.copy(with_slices=False), diff.name, diff)

    @staticmethod
    def _narrow(node: Node, codes: list[str]) -> None:
        kept = [t for t in types_of(node.element) if t.get("code") in codes]
        if kept:
            node.element["type"] = kept

    def _merge_slice(self, node: Node, diff: DiffNode, template: Node, *, alone: bool) -> None:
        assert diff.slice_name is not None
        existing = node.slice(diff.slice_name)
        if existing is not None:
            self.merge(existing, diff, new_slice=False)
            return
        if "slicing" in node.element or self._open_slicing(node, diff, alone=alone):
            self._add_slice(node, template, diff.slice_name, diff)
            return
        if alone:
            self._constrain_as_element(node, diff)
            return
        self.report(diff, "snapshot.slice-without-slicing", "a slice of an element that is not sliced")
        self._add_slice(node, template, diff.slice_name, diff)

    def _open_slicing(self, node: Node, diff: DiffNode, *, alone: bool) -> bool:
        """Slicing a differential may take for granted: by url on extensions, by type between type slices."""
        if _is_extension(node.element):
            node.element["slicing"] = clone(_URL_SLICING)
        elif is_choice(node.name) and not alone and _renamed_type(str(diff.slice_name), node) is not None:
            node.element["slicing"] = clone(_TYPE_SLICING)
        else:
            return False
        return True

    def _constrain_as_element(self, node: Node, diff: DiffNode) -> None:
        """The one "slice" of an element nothing slices constrains that element (as the HL7 tools and
        Forge read it): `born[x]:bornAge` narrows `born[x]`, `date:IssueDate` is `date`."""
        self.report(
            diff,
            "snapshot.slice-without-slicing",
            "a slice of an element that is not sliced: taken as a constraint on the element itself",
        )
        node.slice_name = diff.slice_name
        if is_choice(node.name):
            code = _renamed_type(str(diff.slice_name), node)
            if code is not None and (diff.element is None or "type" not in diff.element):
                self._narrow(node, [code])
        self.merge(node, diff, new_slice=False)

    def _add_slice(self, owner: Node, template: Node, slice_name: str, diff: DiffNode) -> None:
        new = template.copy(with_slices=False)
        new.slice_name = slice_name
        new.element.pop("slicing", None)
        new.element["sliceName"] = slice_name
        if is_choice(new.name):
            code = _renamed_type(slice_name, new)
            if code is not None:
                self._narrow(new, [code])
        owner.slices.append(new)
        self.merge(new, diff, new_slice=True)

    def _new_element(self, parent: Node, diff: DiffNode) -> Node:
        """An element a specialization adds (its differential is its definition)."""
        element = clone(dict(diff.element)) if diff.element is not None else {}
        path = f"{parent.element.get('path', parent.name)}.{diff.name}"
        element.setdefault(
            "base", {"path": path, "min": element.get("min", 0), "max": element.get("max", "*")}
        )
        node = Node(name=diff.name, element=element)
        for child in diff.children:
            node.children.append(self._new_element(node, child))
        return node

    # --- unfolding ---------------------------------------------------------------------------------

    def _unfold(self, node: Node, diff: DiffNode) -> bool:
        """Give `node` the children its type (or content reference) defines. False when it cannot."""
        source = self._children_source(node, diff)
        if source is None:
            return False
        node.children = [child.copy() for child in source.children]
        return True

    def _children_source(self, node: Node, diff: DiffNode) -> Node | None:
        reference = node.element.get("contentReference")
        if isinstance(reference, str):
            return self._referenced(reference, diff)
        codes = type_codes(node.element)
        if len(codes) != 1:
            kinds = ", ".join(codes) or "no type"
            self.report(
                diff, "snapshot.cannot-unfold", f"children are constrained below an element of {kinds}"
            )
            return None
        profiled = self._type_profile(node, diff)
        if profiled is not None:
            return profiled
        tree = self.resolver.tree(codes[0])
        if tree is None:
            self.report(diff, "snapshot.cannot-unfold", f"the definition of type {codes[0]} cannot be found")
        return tree

    def _referenced(self, reference: str, diff: DiffNode) -> Node | None:
        names = reference.rpartition("#")[2].split(".")
        found = _find_path(self.base, names) if self.base is not None else None
        if found is None:
            found = _find_path(self.resolver.tree(names[0]), names)
        if found is None:
            self.report(diff, "snapshot.cannot-unfold", f"content reference {reference} leads nowhere")
        return found


def _add_constraints(element: Element, source: Mapping[str, Any]) -> None:
    have = {c.get("key") for c in element.get("constraint", []) if isinstance(c, Mapping)}
    added = [
        clone(c) for c in source.get("constraint", []) if isinstance(c, Mapping) and c.get("key") not in have
    ]
    if added:
        element["constraint"] = [*element.get("constraint", []), *added]


def _tighten_cardinality(element: Element, definition: Mapping[str, Any], diff: Mapping[str, Any]) -> None:
    """Where the differential is silent, an extension slice is no looser than the extension's definition."""
    if "min" not in diff and min_value(definition.get("min")) > min_value(element.get("min")):
        element["min"] = definition["min"]
    if "max" not in diff and max_value(definition.get("max")) < max_value(element.get("max")):
        element["max"] = definition["max"]


def _is_extension(element: Mapping[str, Any]) -> bool:
    codes = type_codes(element)
    return codes == ["Extension"]


def _renamed_type(name: str, choice: Node) -> str | None:
    return renamed_choice_type(name, choice.name, type_codes(choice.element))


def _find_path(root: Node | None, names: list[str]) -> Node | None:
    if root is None or not names or names[0] != root.name:
        return None
    node = root
    for name in names[1:]:
        child = node.child(name)
        if child is None:
            return None
        node = child
    return node
