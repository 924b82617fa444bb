"""Generated snapshots against published and third-party ones (figures in docs/snapshots.md).

Each StructureDefinition that ships a snapshot is regenerated from its differential alone (its base and the
types it uses come from the same packages) and compared element by element with what was published. Run
with `-s` to see the figures. The classes of difference left are explained in docs/snapshots.md; the
assertions pin the thresholds and the list of profiles that are known to differ.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from conformance.definitions.snapshot import Snapshots
from conformance.definitions.snapshot_compare import Comparison, Difference, compare_snapshots, tally
from conformance.fhirversion import FhirVersion
from test_snapshot_support import (
    CARECONNECT,
    GENERATED_SNAPSHOTS,
    NHSCONNECT,
    R3_CORE,
    R4_CORE,
    UKCORE,
    TarballSource,
    shared_tarball,
    tarball_definitions,
)

pytestmark = [pytest.mark.shared, pytest.mark.slow]

CORE = "http://hl7.org/fhir/StructureDefinition/"
NHS = "https://fhir.nhs.uk/STU3/StructureDefinition/"

# Published R4 snapshots that differ, each for a reason docs/snapshots.md gives.
R4_KNOWN = {
    CORE + "clinicaldocument",  # extension slice max from the extension's definition
    CORE + "structuredefinition-json-type",  # published Extension.id/url have no type code
    CORE + "structuredefinition-rdf-type",
    CORE + "structuredefinition-xml-type",
}
# NHS Digital snapshots that differ even with the definitions their tool had (publisher faults).
STU3_KNOWN = {
    NHS + name
    for name in (
        "CareConnect-GPC-MedicationStatement-1",
        "CareConnect-ITK-AllergyIntolerance-1",
        "CareConnect-ITK-Encounter-1",
        "CareConnect-ITK-Medication-1",
        "CareConnect-ITK-MedicationStatement-1",
        "CareConnect-ITK-Procedure-1",
        "CareConnect-RARecord-Condition-1",
        "DCH-SocialContextHousehold-QuestionnaireResponse-1",
        "Extension-ODSAPI-ActivePeriod-1",
        "Extension-ODSAPI-OrganizationRole-1",
        "Extension-eRS-AttachedByOrganisation-1",
        "Extension-eRS-AttachedOnBehalfOf-1",
        "Extension-eRS-ReferralShortlist-1",
        "RARecord-Flag-1",
        "eRS-CreateAdviceAndGuidance-Request-Parameters-1",
    )
} | {"http://hl7.org/fhir/StructureDefinition/questionnaireresponse-note"}


def regenerate(
    definitions: Iterable[Mapping[str, Any]], source: TarballSource, version: FhirVersion
) -> list[Comparison]:
    snapshots = Snapshots(source, version)
    return [
        compare_snapshots(
            sd["snapshot"]["element"], snapshots.generate(sd).elements, str(sd["url"]), snapshots
        )
        for sd in definitions
    ]


def differing(comparisons: Iterable[Comparison]) -> set[str]:
    return {c.url for c in comparisons if not c.same}


def show(title: str, comparisons: list[Comparison]) -> None:
    properties = Counter(d.property for c in comparisons for d in c.differences)
    print(f"\n{title}: {tally(comparisons).describe()}; differing properties {dict(properties)}")


def test_r4_core_constraint_profiles_regenerate_as_published() -> None:
    source = TarballSource.of(R4_CORE)
    published = [
        sd
        for sd in tarball_definitions(shared_tarball(R4_CORE))
        if sd.get("derivation") == "constraint" and "snapshot" in sd and "differential" in sd
    ]
    assert len(published) == 442
    comparisons = regenerate(published, source, FhirVersion.R4)
    show("R4 core, 442 constraint profiles", comparisons)
    assert tally(comparisons).profile_rate >= 0.95
    assert differing(comparisons) == R4_KNOWN


def nhs_published() -> list[dict[str, Any]]:
    return [sd for sd in tarball_definitions(shared_tarball(NHSCONNECT)) if "snapshot" in sd]


def test_stu3_nhs_profiles_regenerate_as_published_with_their_tools_definitions() -> None:
    """NHS Digital's snapshots were made without the Care Connect extension definitions (see the docs):
    given the same definitions (STU3 core and the NHS package), generation agrees with them."""
    published = nhs_published()
    assert len(published) == 370
    comparisons = regenerate(published, TarballSource.of(NHSCONNECT, R3_CORE), FhirVersion.STU3)
    show("STU3 NHS Digital, 370 profiles, without Care Connect", comparisons)
    assert tally(comparisons).profile_rate >= 0.90
    assert differing(comparisons) <= STU3_KNOWN


def test_stu3_nhs_profiles_with_care_connect_differ_only_where_extension_definitions_apply() -> None:
    comparisons = regenerate(
        nhs_published(), TarballSource.of(NHSCONNECT, CARECONNECT, R3_CORE), FhirVersion.STU3
    )
    show("STU3 NHS Digital, 370 profiles, with Care Connect", comparisons)
    assert tally(comparisons).profile_rate >= 0.65
    elsewhere = {c.url for c in comparisons if any(not in_extension_slice(d) for d in c.differences)}
    assert elsewhere <= STU3_KNOWN


def in_extension_slice(difference: Difference) -> bool:
    """An extension slice, or anything below one."""
    return "extension:" in difference.element or "Extension:" in difference.element


def third_party(folder: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((GENERATED_SNAPSHOTS / folder).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[data["url"]] = data
    return found


def generate_package(tarball: str, source: TarballSource, version: FhirVersion) -> dict[str, Any]:
    snapshots = Snapshots(source, version)
    generated: dict[str, Any] = {}
    for sd in tarball_definitions(shared_tarball(tarball)):
        result = snapshots.snapshot(str(sd["url"]))
        assert result is not None
        generated[str(sd["url"])] = (result, snapshots)
    return generated


def cardinality_of_slice(difference: Difference) -> bool:
    """Extension slices take the extension's own cardinality; new slices start from the base's."""
    last = difference.element.rsplit(".", 1)[-1]
    return difference.property in ("min", "max") and ":" in last


def inherited_value_set(difference: Difference) -> bool:
    """A differential binding without a ValueSet keeps the base's (the third-party tool drops it)."""
    return (
        difference.property == "binding"
        and difference.expected.endswith("None)")
        and "http" in difference.actual
    )


def test_uk_core_against_third_party_snapshots() -> None:
    source = TarballSource.of(UKCORE, R4_CORE)
    generated = generate_package(UKCORE, source, FhirVersion.R4)
    assert len(generated) == 78
    others = third_party("ukcore-stu2")
    comparisons = []
    for url, (result, snapshots) in generated.items():
        assert not [i for i in result.issues if i.severity.is_error], url
        comparisons.append(
            compare_snapshots(others[url]["snapshot"]["element"], result.elements, url, snapshots)
        )
    show("UK Core STU2 against the third-party snapshots", comparisons)
    unexplained = [
        d
        for c in comparisons
        for d in c.differences
        if not (cardinality_of_slice(d) or inherited_value_set(d))
    ]
    assert unexplained == []
    assert tally(comparisons).element_rate >= 0.95


def test_care_connect_against_third_party_snapshots() -> None:
    source = TarballSource.of(CARECONNECT, R3_CORE)
    generated = generate_package(CARECONNECT, source, FhirVersion.STU3)
    assert len(generated) == 87
    others = third_party("careconnect-stu3")
    comparisons = [
        compare_snapshots(others[url]["snapshot"]["element"], result.elements, url, snapshots)
        for url, (result, snapshots) in generated.items()
    ]
    show("Care Connect STU3 against the third-party snapshots", comparisons)
    assert tally(comparisons).element_rate >= 0.95
    assert tally(comparisons).profile_rate >= 0.6


def choice_spellings(step: str) -> list[str]:
    """What one differential id step may have become: itself, or the choice element it renames
    (`valueQuantity`, Forge's `valueQuantity:valueQuantity` or `value[x]:valueQuantity` -> `value[x]`)."""
    name, _, slice_name = step.partition(":")
    found = [step]
    if slice_name == name or not slice_name or (name.endswith("[x]") and slice_name.startswith(name[:-3])):
        found.append(name)
    for index in [i for i, c in enumerate(name) if c.isupper()]:
        found.append(name[:index] + "[x]")
    return found


def has_snapshot_element(diff_id: str, ids: set[str]) -> bool:
    candidates = [""]
    for step in diff_id.split("."):
        candidates = [f"{c}.{s}" if c else s for c in candidates for s in choice_spellings(step)]
        candidates = [c for c in candidates if c in ids] or candidates[:64]
    return any(c in ids for c in candidates)


@pytest.mark.parametrize(
    ("tarball", "others", "version"),
    [(UKCORE, (R4_CORE,), FhirVersion.R4), (CARECONNECT, (R3_CORE,), FhirVersion.STU3)],
)
def test_generated_ids_are_unique_consistent_and_cover_the_differential(
    tarball: str, others: tuple[str, ...], version: FhirVersion
) -> None:
    snapshots = Snapshots(TarballSource.of(tarball, *others), version)
    for sd in tarball_definitions(shared_tarball(tarball)):
        result = snapshots.snapshot(str(sd["url"]))
        assert result is not None
        ids = [str(e["id"]) for e in result.elements]
        assert len(ids) == len(set(ids)), sd["url"]
        for element in result.elements:
            assert ".".join(s.split(":")[0] for s in str(element["id"]).split(".")) == element["path"]
            assert "base" in element
        missing = [
            d["id"] for d in sd["differential"]["element"] if not has_snapshot_element(str(d["id"]), set(ids))
        ]
        assert missing == [], sd["url"]
