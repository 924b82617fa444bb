"""Frameworks as data: the shipped examples, reading and refusing definitions, and consistency."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main
from conformance.errors import InputError
from conformance.frameworks import (
    KnownStandards,
    available_frameworks,
    inconsistencies,
    load_framework,
    ranges_overlap,
    read_framework,
    unknown_requirements,
)
from conformance.standards import available_standards

HEADER = 'format = 1\nid = "{id}"\ntitle = "T"\npublisher = "P"\n'


def write_framework(folder: Path, framework_id: str, requires: str, *, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{framework_id}.toml"
    path.write_text(HEADER.format(id=framework_id) + extra + requires, encoding="utf-8")
    return path


def requirement(standard: str, versions: str | None = None) -> str:
    text = f'\n[[requires]]\nstandard = "{standard}"\n'
    return text + (f'versions = "{versions}"\n' if versions is not None else "")


def test_the_shipped_frameworks_are_examples_on_shipped_standards() -> None:
    shipped = [read_framework(path) for _, path in available_frameworks()]
    assert {f.id for f in shipped} == {"example-shared-care", "example-gp-records-stu3"}
    standards = {standard_id for standard_id, _ in available_standards()}
    for framework in shipped:
        assert framework.example, framework.id
        assert framework.title.startswith("Example")
        assert {r.standard for r in framework.requirements} <= standards
    assert inconsistencies(shipped) == ()


def test_a_framework_reads_with_its_requirements_and_levels(tmp_path: Path) -> None:
    path = write_framework(
        tmp_path, "buyer", requirement("uk-core-stu2", "^2.0.0") + "max_not_tested = 3\n" + requirement("x")
    )
    framework = load_framework("buyer", search_path=[tmp_path])
    first, second = framework.requirements
    assert (first.standard, first.versions, first.max_not_tested) == ("uk-core-stu2", "^2.0.0", 3)
    assert first.accepts_version("2.4.1") and not first.accepts_version("3.0.0")
    assert first.level == "conformant, at most 3 profile(s) not tested"
    assert second.any_version and second.accepts_version("0.0.1") and second.level == "conformant"
    assert framework.source == str(path) and not framework.example


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (requirement("a") + 'colour = "blue"\n', "Additional properties are not allowed ('colour'"),
        (requirement("a", "latest"), "versions 'latest' is not a version or an npm-style range"),
        (requirement("a", "two point oh"), "is not a version or an npm-style range"),
        (requirement("a") + requirement("a", "1.x"), "standard a is required more than once"),
        (requirement("Not An Id"), "does not match"),
        ("", "'requires' is a required property"),
        ("\n[[requires]]\nstandard = 'a'\nmax_not_tested = -1\n", "less than the minimum of 0"),
    ],
)
def test_broken_definitions_are_refused_naming_the_file(tmp_path: Path, body: str, message: str) -> None:
    path = write_framework(tmp_path, "broken", body)
    with pytest.raises(InputError, match=r"broken\.toml") as caught:
        read_framework(path)
    assert message in str(caught.value)


def test_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("format = = 1", encoding="utf-8")
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe{}")
    (tmp_path / "huge.toml").write_text("#" * (2 << 20), encoding="utf-8")
    with pytest.raises(InputError, match="not valid TOML"):
        read_framework(tmp_path / "bad.toml")
    with pytest.raises(InputError, match="must be UTF-8"):
        read_framework(tmp_path / "bad.json")
    with pytest.raises(InputError, match="may not exceed"):
        read_framework(tmp_path / "huge.toml")
    with pytest.raises(InputError, match=r"unknown framework .nope.*example-shared-care"):
        load_framework("nope")
    with pytest.raises(InputError, match="cannot read the framework"):
        read_framework(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("1.x", "^1.2.0", True),
        ("1.0.0", "1.0.0", True),
        ("1.0.0", "2.0.0", False),
        (">=1.0.0 <2.0.0", "2.x", False),
        (">=1.0.0 <2.0.0", "1.9.9", True),
        (">1.2", "1.3.0", True),
        (">1.2", "1.2.9", False),
        ("~1.2.0", "1.2.5", True),
        ("~1.2.0", "1.3.0", False),
        ("^0.2.0", "0.3.0", False),
        ("1.x || 3.x", "3.1.0", True),
        ("<=1.4.0", ">1.4.0", False),
        ("<1.4.0", ">=1.3.9", True),
    ],
)
def test_version_ranges_overlap_when_some_version_meets_both(first: str, second: str, overlap: bool) -> None:
    assert ranges_overlap(first, second) is overlap
    assert ranges_overlap(second, first) is overlap


def test_frameworks_requiring_different_versions_of_one_standard_are_inconsistent(tmp_path: Path) -> None:
    old = read_framework(write_framework(tmp_path, "old", requirement("uk-core", "1.x") + requirement("b")))
    new = read_framework(write_framework(tmp_path, "new", requirement("uk-core", "^2.0.0")))
    wide = read_framework(write_framework(tmp_path, "wide", requirement("uk-core", ">=1.5.0")))
    (found,) = inconsistencies([old, new, wide])
    assert (found.standard, found.first, found.second) == ("uk-core", "old", "new")
    assert str(found) == (
        "old requires uk-core 1.x but new requires uk-core ^2.0.0: no version of uk-core satisfies both"
    )


def test_cli_consistency_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_framework(tmp_path, "old", requirement("uk-core", "1.x"))
    write_framework(tmp_path, "new", requirement("uk-core", "2.x"))
    code = main(["framework", "consistency", "old", "new", "--frameworks-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "inconsistent: old requires uk-core 1.x but new requires uk-core 2.x" in out
    assert main(["framework", "consistency", "example-shared-care", "example-gp-records-stu3"]) == 0
    assert "consistent: example-shared-care, example-gp-records-stu3 can all be met together" in (
        capsys.readouterr().out
    )
    assert main(["framework", "list", "--frameworks-dir", str(tmp_path)]) == 0
    listed = capsys.readouterr().out
    assert "example-shared-care" in listed and "old" in listed
    assert "inconsistent: new requires uk-core 2.x but old requires uk-core 1.x" in listed


def test_cli_unknown_framework_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.json").write_text("{}", encoding="utf-8")
    assert main(["framework", "check", "nope", str(tmp_path / "s.json")]) == 2
    assert "unknown framework 'nope'" in capsys.readouterr().err


def test_requirements_no_standard_here_can_meet_are_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_framework(tmp_path, "ahead", requirement("uk-core-stu2", "3.x") + requirement("nope"))
    assert unknown_requirements(read_framework(path), KnownStandards()) == (
        "ahead requires uk-core-stu2 3.x; the definition here is version 2.0.2",
        "ahead requires nope, which is not a standard known here",
    )
    shipped = [read_framework(p) for _, p in available_frameworks()]
    assert all(unknown_requirements(framework, KnownStandards()) == () for framework in shipped)
    assert main(["framework", "list", "--frameworks-dir", str(tmp_path)]) == 0
    assert "note: ahead requires nope, which is not a standard known here" in capsys.readouterr().out
