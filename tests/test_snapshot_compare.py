"""The snapshot comparison: what it treats as the same, and what it reports as different."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conformance.definitions.snapshot_compare import (
    Comparison,
    compare_snapshots,
    normalise,
    render_key,
    tally,
)

QUANTITY = [{"code": "Quantity"}]


def element(path: str, **properties: Any) -> dict[str, Any]:
    return {"id": path, "path": path, "min": 0, "max": "1", **properties}


def observation(*elements: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element("Observation", max="*"),
        element("Observation.status", type=[{"code": "code"}]),
        *elements,
    ]


# Three spellings of "value[x] is a Quantity whose value is required".
NARROWED = observation(
    element("Observation.value[x]", type=QUANTITY, base={"path": "Observation.value[x]"}),
    element("Observation.value[x].value", min=1, type=[{"code": "decimal"}]),
)
TYPE_SLICE = observation(
    element(
        "Observation.value[x]",
        type=QUANTITY,
        slicing={"discriminator": [{"type": "type", "path": "$this"}], "rules": "closed"},
    ),
    {
        **element("Observation.value[x]", type=QUANTITY),
        "id": "Observation.value[x]:valueQuantity",
        "sliceName": "valueQuantity",
    },
    {
        **element("Observation.value[x].value", min=1, type=[{"code": "decimal"}]),
        "id": "Observation.value[x]:valueQuantity.value",
    },
)
RENAMED_FORGE = observation(
    {
        **element("Observation.valueQuantity", type=QUANTITY, base={"path": "Observation.value[x]"}),
        "id": "Observation.valueQuantity:valueQuantity",
        "sliceName": "valueQuantity",
    },
    {
        **element("Observation.valueQuantity.value", min=1, type=[{"code": "decimal"}]),
        "id": "Observation.value[x]:valueQuantity.value",
    },
)


def test_choice_type_spellings_compare_equal() -> None:
    for left in (NARROWED, TYPE_SLICE, RENAMED_FORGE):
        for right in (NARROWED, TYPE_SLICE, RENAMED_FORGE):
            result = compare_snapshots(left, right)
            assert result.same, result.differences
            assert result.compared == 4


def test_keys_come_from_paths_and_slices_not_ids() -> None:
    keys = [render_key(key) for key in normalise(RENAMED_FORGE)]
    assert keys == ["Observation", "Observation.status", "Observation.value[x]", "Observation.value[x].value"]


def test_type_slices_of_a_choice_with_several_types_are_kept() -> None:
    several = observation(
        element("Observation.value[x]", type=[{"code": "Quantity"}, {"code": "string"}]),
        {
            **element("Observation.value[x]", type=QUANTITY),
            "id": "Observation.value[x]:valueQuantity",
            "sliceName": "valueQuantity",
        },
    )
    assert "Observation.value[x]:valueQuantity" in [render_key(k) for k in normalise(several)]
    assert not compare_snapshots(several, NARROWED).same


def test_real_differences_are_reported_by_property() -> None:
    changed = observation(
        element(
            "Observation.value[x]",
            type=[{"code": "Quantity", "profile": ["http://x/p"]}],
            fixedQuantity={"value": 1},
        ),
        element("Observation.value[x].value", min=0, max="0", type=[{"code": "decimal"}]),
        element("Observation.note", max="*"),
    )
    result = compare_snapshots(NARROWED, changed, url="http://x/sd")
    found = {(d.element, d.property) for d in result.differences}
    assert found == {
        ("Observation.value[x]", "types"),
        ("Observation.value[x]", "fixed"),
        ("Observation.value[x].value", "min"),
        ("Observation.value[x].value", "max"),
        ("Observation.note", "element"),
    }
    assert (result.compared, result.identical) == (5, 2)
    assert not result.same
    assert result.summary() == "http://x/sd: 2/5 elements identical"


def test_bindings_constraints_and_slicing_are_compared() -> None:
    base = observation(
        element("Observation.code", binding={"strength": "required", "valueSet": "http://vs/a"})
    )
    stu3 = observation(
        element(
            "Observation.code",
            binding={"strength": "required", "valueSetReference": {"reference": "http://vs/a"}},
        )
    )
    assert compare_snapshots(base, stu3).same
    weaker = observation(
        element("Observation.code", binding={"strength": "preferred", "valueSet": "http://vs/a"})
    )
    constrained = observation(
        element("Observation.code", binding=base[-1]["binding"], constraint=[{"key": "x-1"}])
    )
    sliced = observation(element("Observation.code", binding=base[-1]["binding"], slicing={"rules": "open"}))
    assert [d.property for d in compare_snapshots(base, weaker).differences] == ["binding"]
    assert [d.property for d in compare_snapshots(base, constrained).differences] == ["constraints"]
    assert [d.property for d in compare_snapshots(base, sliced).differences] == ["slicing"]


class FakeTypes:
    """Knowledge of one datatype: Quantity, with children `value` and `unit`, and invariant qty-3."""

    def unfolded(self, element: Mapping[str, Any]) -> Sequence[Mapping[str, Any]] | None:
        if [t.get("code") for t in element.get("type", [])] != ["Quantity"]:
            return None
        return [
            element_of("Quantity", "*"),
            {**element_of("Quantity.value", "1"), "type": [{"code": "decimal"}]},
            {**element_of("Quantity.unit", "1"), "type": [{"code": "string"}]},
        ]

    def root_constraint_keys(self, type_code: str) -> frozenset[str]:
        return frozenset({"ele-1", "qty-3"}) if type_code == "Quantity" else frozenset({"ele-1"})


def element_of(path: str, maximum: str) -> dict[str, Any]:
    return {"id": path, "path": path, "min": 0, "max": maximum}


def test_expansion_depth_is_aligned_with_type_knowledge() -> None:
    folded = observation(element("Observation.value[x]", type=QUANTITY))
    expanded = observation(
        element("Observation.value[x]", type=QUANTITY),
        element("Observation.value[x].value", type=[{"code": "decimal"}]),
        element("Observation.value[x].unit", type=[{"code": "string"}]),
    )
    assert not compare_snapshots(expanded, folded).same
    assert compare_snapshots(expanded, folded, knowledge=FakeTypes()).same
    assert compare_snapshots(folded, expanded, knowledge=FakeTypes()).same
    constrained = [*expanded[:-1], element("Observation.value[x].unit", min=1, type=[{"code": "string"}])]
    assert [d.element for d in compare_snapshots(constrained, folded, knowledge=FakeTypes()).differences] == [
        "Observation.value[x].unit"
    ]


def test_type_level_invariants_are_ignored_only_with_knowledge() -> None:
    plain = observation(element("Observation.value[x]", type=QUANTITY))
    repeated = observation(
        element("Observation.value[x]", type=QUANTITY, constraint=[{"key": "ele-1"}, {"key": "qty-3"}])
    )
    assert not compare_snapshots(plain, repeated).same
    assert compare_snapshots(plain, repeated, knowledge=FakeTypes()).same
    own = observation(element("Observation.value[x]", type=QUANTITY, constraint=[{"key": "obs-99"}]))
    assert not compare_snapshots(plain, own, knowledge=FakeTypes()).same


def test_default_extension_slicing_is_no_difference() -> None:
    url_slicing = {"discriminator": [{"type": "value", "path": "url"}], "rules": "open"}
    silent = observation(element("Observation.extension", max="*", type=[{"code": "Extension"}]))
    saying = observation(
        element("Observation.extension", max="*", type=[{"code": "Extension"}], slicing=url_slicing)
    )
    assert compare_snapshots(silent, saying).same


def test_malformed_elements_do_not_break_the_comparison() -> None:
    odd = [
        element("Observation"),
        {"path": "Observation.x", "min": "zero", "max": 5, "type": "code", "binding": []},
    ]
    result = compare_snapshots(odd, [element("Observation")])
    assert [d.property for d in result.differences] == ["element"]


def test_tally_of_comparisons() -> None:
    figures = tally([Comparison("a", 10, 10), Comparison("b", 5, 4, differences=(object(),))])  # type: ignore[arg-type]
    assert (figures.profiles, figures.identical_profiles, figures.elements, figures.identical_elements) == (
        2,
        1,
        15,
        14,
    )
    assert figures.profile_rate == 0.5
    assert figures.describe() == "1/2 profiles identical (50.00%), 14/15 elements identical (93.33%)"
    assert tally([]).profile_rate == 1.0
