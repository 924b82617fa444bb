"""Compile a StructureDefinition snapshot into a Plan: the element tree the engine walks.

A Plan is data: one `ElementRule` per snapshot element, children nested under
their parent, slices grouped under their slicing entry. It is built once per
profile and reused for every payload; the validator never looks at raw
ElementDefinitions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from conformance.definitions.elements import string_tuple
from conformance.fhirversion import FhirVersion

FHIR_TYPE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXTENSIONS = (
    "http://hl7.org/fhir/StructureDefinition/regex",
    "http://hl7.org/fhir/StructureDefinition/structuredefinition-regex",
)
MIN_LENGTH_EXTENSION = "http://hl7.org/fhir/StructureDefinition/minLength"
SYSTEM_TYPE_PREFIX = "http://hl7.org/fhirpath/System."

PRIMITIVE_TYPES = frozenset(
    {
        "base64Binary", "boolean", "canonical", "code", "date", "dateTime", "decimal", "id", "instant",
        "integer", "integer64", "markdown", "oid", "positiveInt", "string", "time", "unsignedInt", "uri",
        "url", "uuid", "xhtml",
    }
)  # fmt: skip

SYSTEM_TO_FHIR = {
    "String": "string",
    "Boolean": "boolean",
    "Integer": "integer",
    "Decimal": "decimal",
    "Date": "date",
    "DateTime": "dateTime",
    "Time": "time",
}


PROFILE_ELEMENT_EXTENSION = "http://hl7.org/fhir/StructureDefinition/elementdefinition-profile-element"


@dataclass(frozen=True)
class TypeRef:
    code: str
    profiles: tuple[str, ...] = ()
    target_profiles: tuple[str, ...] = ()
    profile_element: str | None = None  # an element inside the profile, rather than its root

    @cached_property  # asked of every value: worked out once (a frozen dataclass still has a __dict__)
    def is_primitive(self) -> bool:
        return self.code in PRIMITIVE_TYPES

    @property
    def json_suffix(self) -> str:
        """How the type names a renamed choice element: value[x] + Quantity -> valueQuantity."""
        return self.code[:1].upper() + self.code[1:]


@dataclass(frozen=True)
class Constraint:
    key: str
    severity: str
    human: str
    expression: str | None
    source: str | None
    best_practice: bool


@dataclass(frozen=True)
class Binding:
    strength: str
    value_set: str | None
    description: str | None


@dataclass(frozen=True)
class Discriminator:
    type: str
    path: str


@dataclass(frozen=True)
class Slicing:
    discriminators: tuple[Discriminator, ...]
    rules: str
    ordered: bool


@dataclass(eq=False)
class ElementRule:
    """One compiled ElementDefinition. Mutable only while the Plan is being built."""

    id: str
    path: str
    name: str
    slice_name: str | None
    min: int
    max: int | None
    repeats: bool
    types: tuple[TypeRef, ...]
    content_reference: str | None
    fixed: tuple[str, Any] | None
    pattern: tuple[str, Any] | None
    binding: Binding | None
    constraints: tuple[Constraint, ...]
    max_length: int | None
    min_value: tuple[str, Any] | None
    max_value: tuple[str, Any] | None
    is_modifier: bool
    regex: str | None
    raw: Mapping[str, Any]
    slicing: Slicing | None = None
    children: list[ElementRule] = field(default_factory=list)
    slices: list[ElementRule] = field(default_factory=list)
    min_length: int | None = None  # the minLength extension on the ElementDefinition
    _json_names: tuple[tuple[str, TypeRef | None], ...] | None = field(default=None, repr=False)

    # Asked for every element of every payload: computed once (a rule's name and base are fixed when built).
    @cached_property
    def is_choice(self) -> bool:
        return self.name.endswith("[x]")

    @cached_property
    def base_name(self) -> str:
        return self.name[:-3] if self.is_choice else self.name

    @cached_property
    def base_path(self) -> str | None:
        """The path of the base element this one constrains (`Resource.id` for `Patient.id`)."""
        base = self.raw.get("base")
        path = base.get("path") if isinstance(base, Mapping) else None
        return path if isinstance(path, str) else None

    @cached_property
    def has_limits(self) -> bool:
        """A length or a value range to check (most elements have neither)."""
        return not (
            self.max_length is None
            and self.min_length is None
            and self.min_value is None
            and self.max_value is None
        )

    @property
    def max_text(self) -> str:
        return "*" if self.max is None else str(self.max)

    @cached_property  # read for every child element of every object: an attribute once worked out
    def json_keys(self) -> tuple[tuple[str, str, TypeRef | None], ...]:
        """`json_names()` with each name's `_name` sibling (where a primitive's id and extensions go)."""
        return tuple((name, "_" + name, type_ref) for name, type_ref in self.json_names())

    def rename(self, name: str) -> None:
        """Change the name while the Plan is built, forgetting what was worked out from the old one."""
        self.name = name
        self._json_names = None
        for derived in ("is_choice", "base_name", "json_keys"):
            self.__dict__.pop(derived, None)

    def json_names(self) -> tuple[tuple[str, TypeRef | None], ...]:
        """The JSON property names this element may appear under, with the type each implies."""
        names = self._json_names
        if names is None:
            if not self.is_choice:
                names = ((self.name, self.types[0] if len(self.types) == 1 else None),)
            else:
                names = tuple((self.base_name + t.json_suffix, t) for t in self.types)
            self._json_names = names
        return names

    def child(self, name: str) -> ElementRule | None:
        for rule in self.children:
            if rule.name == name:
                return rule
        return None

    def find_slice(self, name: str) -> ElementRule | None:
        for rule in self.slices:
            if rule.slice_name == name:
                return rule
        return None


@dataclass(frozen=True)
class Plan:
    """A compiled StructureDefinition."""

    url: str
    version: str | None
    name: str
    type: str
    kind: str
    derivation: str | None
    base_definition: str | None
    status: str | None
    root: ElementRule
    by_id: Mapping[str, ElementRule]
    context: tuple[Mapping[str, Any], ...]
    context_invariants: tuple[str, ...]
    contained: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    fhir_version: str | None = None  # as the definition declares it

    @cached_property
    def canonical(self) -> str:
        # Cached: every issue a profile gives names it, and one string per issue adds up in a large payload.
        return f"{self.url}|{self.version}" if self.version else self.url

    @cached_property
    def release(self) -> FhirVersion | None:
        """The FHIR version the definition declares (None when it declares none we know)."""
        return FhirVersion.of_release(self.fhir_version) if self.fhir_version else None

    def element(self, element_id_or_path: str) -> ElementRule | None:
        return self.by_id.get(element_id_or_path)


class PlanError(ValueError):
    """The snapshot cannot be compiled (no elements, or a broken element tree)."""


def _type_code(type_entry: Mapping[str, Any]) -> str:
    for extension in type_entry.get("extension", ()) or ():
        if extension.get("url") == FHIR_TYPE_EXTENSION:
            return str(extension.get("valueUrl") or extension.get("valueUri") or "")
    code = type_entry.get("code")
    if not isinstance(code, str):
        return ""
    if code.startswith(SYSTEM_TYPE_PREFIX):
        return SYSTEM_TO_FHIR.get(code[len(SYSTEM_TYPE_PREFIX) :], "string")
    return code


def _type_refs(element: Mapping[str, Any]) -> tuple[TypeRef, ...]:
    """One TypeRef per type code: STU3 repeats a code once per profile, R4 lists the profiles in one entry."""
    refs: dict[str, TypeRef] = {}
    for entry in element.get("type", ()) or ():
        code = _type_code(entry)
        if not code:
            continue
        found = TypeRef(
            code,
            string_tuple(entry.get("profile")),
            string_tuple(entry.get("targetProfile")),
            _profile_element(entry),
        )
        known = refs.get(code)
        refs[code] = found if known is None else _merged(known, found)
    return tuple(refs.values())


def _merged(first: TypeRef, second: TypeRef) -> TypeRef:
    return TypeRef(
        first.code,
        tuple(dict.fromkeys((*first.profiles, *second.profiles))),
        tuple(dict.fromkeys((*first.target_profiles, *second.target_profiles))),
        first.profile_element or second.profile_element,
    )


def _profile_element(type_entry: Mapping[str, Any]) -> str | None:
    extras = type_entry.get("_profile")
    for extra in extras if isinstance(extras, list) else [extras]:
        if not isinstance(extra, Mapping):
            continue
        for extension in extra.get("extension", ()) or ():
            if extension.get("url") == PROFILE_ELEMENT_EXTENSION and isinstance(
                extension.get("valueString"), str
            ):
                return str(extension["valueString"])
    return None


def _regex_of(element: Mapping[str, Any]) -> str | None:
    # R4 puts the regex extension on the ElementDefinition; the core primitives put it on the type.
    for extension in element.get("extension", ()) or ():
        if extension.get("url") in REGEX_EXTENSIONS and isinstance(extension.get("valueString"), str):
            return str(extension["valueString"])
    for entry in element.get("type", ()) or ():
        for extension in entry.get("extension", ()) or ():
            if extension.get("url") in REGEX_EXTENSIONS and isinstance(extension.get("valueString"), str):
                return str(extension["valueString"])
    return None


def _prefixed(element: Mapping[str, Any], prefix: str) -> tuple[str, Any] | None:
    for key, value in element.items():
        if key.startswith(prefix) and len(key) > len(prefix) and key[len(prefix)].isupper():
            return key[len(prefix) :], value
    return None


def _max(text: Any) -> int | None:
    if text == "*" or text is None:
        return None
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _repeats(element: Mapping[str, Any]) -> bool:
    base = element.get("base")
    base_max = base.get("max") if isinstance(base, Mapping) else element.get("max")
    limit = _max(base_max)
    return limit is None or limit > 1


def _constraints(element: Mapping[str, Any]) -> tuple[Constraint, ...]:
    found: list[Constraint] = []
    for entry in element.get("constraint", ()) or ():
        key = entry.get("key")
        if not isinstance(key, str):
            continue
        best_practice = any(
            ext.get("url", "").endswith("elementdefinition-bestpractice") and ext.get("valueBoolean")
            for ext in entry.get("extension", ()) or ()
        )
        found.append(
            Constraint(
                key=key,
                severity=str(entry.get("severity", "error")),
                human=str(entry.get("human", "")),
                expression=entry.get("expression") if isinstance(entry.get("expression"), str) else None,
                source=entry.get("source") if isinstance(entry.get("source"), str) else None,
                best_practice=best_practice,
            )
        )
    return tuple(found)


def _binding(element: Mapping[str, Any], local_base: str = "") -> Binding | None:
    binding = element.get("binding")
    if not isinstance(binding, Mapping):
        return None
    value_set = binding.get("valueSet") or binding.get("valueSetUri") or binding.get("valueSetReference")
    if isinstance(value_set, Mapping):  # STU3 valueSetReference
        value_set = value_set.get("reference")
    if isinstance(value_set, str) and value_set.startswith("#") and local_base:
        value_set = local_base + value_set  # a ValueSet contained in the profile: see Plan.contained
    return Binding(
        strength=str(binding.get("strength", "example")),
        value_set=value_set if isinstance(value_set, str) else None,
        description=binding.get("description") if isinstance(binding.get("description"), str) else None,
    )


def _slicing(element: Mapping[str, Any]) -> Slicing | None:
    slicing = element.get("slicing")
    if not isinstance(slicing, Mapping):
        return None
    discriminators = tuple(
        Discriminator(str(entry.get("type", "value")), str(entry.get("path", "$this")))
        for entry in slicing.get("discriminator", ()) or ()
        if isinstance(entry, Mapping)
    )
    return Slicing(discriminators, str(slicing.get("rules", "open")), bool(slicing.get("ordered", False)))


def _max_length(element: Mapping[str, Any]) -> int | None:
    value = element.get("maxLength")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _min_length(element: Mapping[str, Any]) -> int | None:
    for extension in element.get("extension", ()) or ():
        if isinstance(extension, Mapping) and extension.get("url") == MIN_LENGTH_EXTENSION:
            value = extension.get("valueInteger")
            return value if isinstance(value, int) and not isinstance(value, bool) else None
    return None


def _slice_name(element: Mapping[str, Any], path: str) -> str | None:
    name = element.get("sliceName")
    if not isinstance(name, str):
        return None
    # Forge writes a choice narrowed to one type as `valueQuantity` with sliceName `valueQuantity` and no
    # `value[x]` entry: that is the element itself under its renamed path, not a slice of anything.
    return None if name == path.rsplit(".", 1)[-1] and not name.endswith("[x]") else name


def compile_element(element: Mapping[str, Any], local_base: str = "") -> ElementRule:
    path = str(element.get("path", ""))
    min_value = element.get("min", 0)
    return ElementRule(
        id=str(element.get("id") or path),
        path=path,
        name=path.rsplit(".", 1)[-1],
        slice_name=_slice_name(element, path),
        min=min_value if isinstance(min_value, int) and not isinstance(min_value, bool) else 0,
        max=_max(element.get("max", "*")),
        repeats=_repeats(element),
        types=_type_refs(element),
        content_reference=element.get("contentReference")
        if isinstance(element.get("contentReference"), str)
        else None,
        fixed=_prefixed(element, "fixed"),
        pattern=_prefixed(element, "pattern"),
        binding=_binding(element, local_base),
        constraints=_constraints(element),
        max_length=_max_length(element),
        min_value=_prefixed(element, "minValue"),
        max_value=_prefixed(element, "maxValue"),
        is_modifier=bool(element.get("isModifier", False)),
        regex=_regex_of(element),
        raw=element,
        slicing=_slicing(element),
        min_length=_min_length(element),
    )


def _choice_name_of_renamed(rule: ElementRule) -> str | None:
    """`value[x]` for an element Forge renamed `valueQuantity` (its base is the choice), else None."""
    base = rule.raw.get("base")
    base_path = base.get("path") if isinstance(base, Mapping) else None
    if rule.is_choice or not isinstance(base_path, str) or not base_path.endswith("[x]"):
        return None
    choice = base_path.rsplit(".", 1)[-1]
    stem = choice[:-3]
    if len(rule.types) == 1 and rule.name == stem + rule.types[0].json_suffix:
        return choice
    return None


def _parent_path(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else ""


class _TreeBuilder:
    """Places snapshot elements, in snapshot order, under their parents and slicing entries."""

    def __init__(self, root: ElementRule) -> None:
        self.root = root
        self.stack: list[ElementRule] = [root]
        self.entries: dict[int, ElementRule] = {}

    def add(self, rule: ElementRule) -> None:
        if rule.slice_name is not None:
            self._add_slice(rule)
        else:
            self._add_child(rule)

    def _unwind_to(self, path: str) -> None:
        while len(self.stack) > 1 and self.stack[-1].path != path:
            self.stack.pop()

    def _add_child(self, rule: ElementRule) -> None:
        self._unwind_to(_parent_path(rule.path))
        parent = self.stack[-1]
        if parent.path != _parent_path(rule.path):
            raise PlanError(f"element {rule.id!r} has no parent element in the snapshot")
        choice = _choice_name_of_renamed(rule)
        if choice is not None and parent.child(choice) is None:
            rule.rename(choice)  # Forge's `valueQuantity`: the choice element, narrowed to its type
        parent.children.append(rule)
        self.stack.append(rule)

    def _add_slice(self, rule: ElementRule) -> None:
        if all(open_rule.path != rule.path for open_rule in self.stack):
            # Forge writes a choice narrowed to one type (`author[x]:authorReference`) without the plain
            # `author[x]`: then it is the element itself.
            rule.slice_name = None
            self._add_child(rule)
            return
        self._unwind_to(rule.path)
        top = self.stack[-1]
        entry = self.entries.get(id(top), top)
        owner = self._slice_owner(entry, rule.slice_name or "")
        owner.slices.append(rule)
        self.entries[id(rule)] = entry
        self.stack[-1] = rule

    @staticmethod
    def _slice_owner(entry: ElementRule, slice_name: str) -> ElementRule:
        """For a re-slice `a/b`, the owner is slice `a`; otherwise the entry itself."""
        if "/" not in slice_name:
            return entry
        owner = entry
        for part in slice_name.split("/")[:-1]:
            found = owner.find_slice(part) or next(
                (s for s in owner.slices if (s.slice_name or "").split("/")[-1] == part), None
            )
            if found is None:
                return entry
            owner = found
        return owner


def _all_rules(root: ElementRule) -> Iterator[ElementRule]:
    pending = [root]
    while pending:
        rule = pending.pop()
        yield rule
        pending.extend(rule.children)
        pending.extend(rule.slices)


def compile_plan(structure_definition: Mapping[str, Any]) -> Plan:
    """Compile a StructureDefinition that has a snapshot."""
    snapshot = structure_definition.get("snapshot")
    elements: Sequence[Mapping[str, Any]] = (
        snapshot.get("element", ()) if isinstance(snapshot, Mapping) else ()
    )
    if not elements:
        raise PlanError(f"{structure_definition.get('url')} has no snapshot elements")
    url = str(structure_definition.get("url", ""))
    root = compile_element(elements[0], url)
    builder = _TreeBuilder(root)
    for element in elements[1:]:
        builder.add(compile_element(element, url))
    by_id = {rule.id: rule for rule in _all_rules(root)}
    return Plan(
        url=str(structure_definition.get("url", "")),
        version=structure_definition.get("version")
        if isinstance(structure_definition.get("version"), str)
        else None,
        name=str(structure_definition.get("name", "")),
        type=str(
            structure_definition.get("type") or structure_definition.get("constrainedType") or root.path
        ),
        kind=str(structure_definition.get("kind", "")),
        derivation=structure_definition.get("derivation"),
        base_definition=structure_definition.get("baseDefinition"),
        status=structure_definition.get("status"),
        root=root,
        by_id=by_id,
        context=_contexts(structure_definition),
        context_invariants=string_tuple(structure_definition.get("contextInvariant")),
        contained=_contained_by_canonical(structure_definition, url),
        fhir_version=structure_definition.get("fhirVersion")
        if isinstance(structure_definition.get("fhirVersion"), str)
        else None,
    )


def _contained_by_canonical(
    structure_definition: Mapping[str, Any], url: str
) -> Mapping[str, Mapping[str, Any]]:
    """Resources contained in the profile (ValueSets its bindings name as `#id`), under `<profile url>#id`."""
    found: dict[str, Mapping[str, Any]] = {}
    for resource in structure_definition.get("contained", ()) or ():
        if isinstance(resource, Mapping) and isinstance(resource.get("id"), str):
            found[f"{url}#{resource['id']}"] = resource
    return found


def _contexts(structure_definition: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    """Extension contexts in R4 form ({type, expression}); STU3's contextType + context strings are mapped."""
    contexts = structure_definition.get("context")
    if not isinstance(contexts, list):
        return ()
    stu3_type = structure_definition.get("contextType")
    found: list[Mapping[str, Any]] = []
    for entry in contexts:
        if isinstance(entry, Mapping):
            found.append(entry)
        elif isinstance(entry, str):
            found.append({"type": stu3_type or "element", "expression": entry})
    return tuple(found)
