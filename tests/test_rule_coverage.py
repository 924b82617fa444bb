"""docs/rule-coverage.md: the HL7 validator's message catalogue against this engine's rules.

The page is generated from profiles/rule-coverage; these tests hold the data to what is true today: every
key of the recorded catalogue covered once, implemented rules naming message ids that the code emits and
the docs list (read live, so a renamed or removed id shows up here), and tests that exist and name them.
"""

from __future__ import annotations

import ast
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from conformance.catalogue.data import Coverage, Rule, load
from conformance.catalogue.our_ids import (
    MESSAGE_ID,
    documented_ids,
    emitted_ids,
    find_test,
    repository_root,
    split_test_name,
)
from conformance.catalogue.rule_coverage import main, render
from conformance.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "rule-coverage.md"


@cache
def coverage() -> Coverage:
    return load()


@cache
def our_ids() -> frozenset[str]:
    # An id is ours when the code emits it and the docs list it.
    return emitted_ids(ROOT / "src" / "conformance") & documented_ids(ROOT / "docs")


def implemented() -> list[Rule]:
    return [rule for rule in coverage().rules if rule.status == "implemented"]


def test_the_page_is_what_the_generator_makes_from_the_data() -> None:
    assert DOC.read_text(encoding="utf-8") == render(coverage()), (
        "docs/rule-coverage.md is out of date: run python -m conformance.catalogue.rule_coverage"
    )


def test_the_check_option_tells_a_current_page_from_a_stale_one(tmp_path: Path) -> None:
    assert main(["--check"]) == 0
    stale = tmp_path / "rule-coverage.md"
    stale.write_text(
        DOC.read_text(encoding="utf-8").replace("| implemented |", "| done |", 1), encoding="utf-8"
    )
    assert main(["--check", "--output", str(stale)]) == 1
    assert main(["--output", str(stale)]) == 0
    assert main(["--check", "--output", str(stale)]) == 0


def test_every_key_of_the_recorded_catalogue_has_exactly_one_rule() -> None:
    keys = coverage().keys
    assert len(keys) == len(set(keys)), "the catalogue snapshot lists a key twice"
    counts = Counter(rule.key for rule in coverage().rules)
    assert [key for key, count in counts.items() if count > 1] == []
    assert sorted(set(keys) - set(counts)) == [], "keys of the catalogue with no rule"
    assert sorted(set(counts) - set(keys)) == [], "rules for keys the catalogue does not have"


def test_every_rule_belongs_to_a_known_family() -> None:
    unknown = sorted({rule.family for rule in coverage().rules} - set(coverage().families))
    assert unknown == []


def test_implemented_rules_name_message_ids_of_our_live_catalogue() -> None:
    ours = our_ids()
    stale = {rule.key: [i for i in rule.ids if i not in ours] for rule in implemented()}
    assert {key: ids for key, ids in stale.items() if ids} == {}, (
        "ids not both emitted in src/conformance and documented in docs/*.md"
    )
    assert [rule.key for rule in implemented() if not rule.ids] == []


def test_rules_not_implemented_name_no_ids_or_tests() -> None:
    others = [
        rule.key for rule in coverage().rules if rule.status != "implemented" and (rule.ids or rule.tests)
    ]
    assert others == []


def test_named_tests_exist_and_name_one_of_the_rule_ids() -> None:
    problems = {}
    for rule in implemented():
        for name in rule.tests:
            problem = _test_problem(name, (*rule.ids, rule.constraint) if rule.constraint else rule.ids)
            if problem:
                problems[f"{rule.key}: {name}"] = problem
    assert problems == {}


def test_rules_without_a_test_or_not_implemented_say_why() -> None:
    families = coverage().families
    silent = [
        rule.key
        for rule in coverage().rules
        if (rule.status != "implemented" or not rule.tests) and not coverage().reason_for(rule).strip()
    ]
    assert silent == []
    # A rule whose status differs from its family's cannot lean on the family's reason.
    odd = [
        rule.key
        for rule in coverage().rules
        if rule.status != "implemented" and rule.status != families[rule.family].status and not rule.reason
    ]
    assert odd == []


def test_the_live_catalogue_readers_find_real_ids() -> None:
    emitted = emitted_ids(ROOT / "src" / "conformance")
    documented = documented_ids(ROOT / "docs")
    assert {"cardinality.min", "slice.no-match", "questionnaire.not-found"} <= emitted & documented
    assert all(MESSAGE_ID.fullmatch(i) for i in documented)
    assert "no-such.message-id" not in emitted | documented


def test_test_lookup_finds_functions_and_methods_and_refuses_the_rest(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_sample.py").write_text(
        "def test_plain():\n    pass\n\n"
        "class TestGroup:\n    def test_inner(self):\n        pass\n\n"
        "VALUE = 1\n"
    )
    assert find_test(tmp_path, "tests/test_sample.py::test_plain") is not None
    assert find_test(tmp_path, "tests/test_sample.py::TestGroup::test_inner") is not None
    for missing in (
        "tests/test_sample.py::test_absent",
        "tests/test_sample.py::VALUE",
        "tests/test_sample.py::TestGroup",
        "tests/test_sample.py",
        "tests/test_other.py::test_plain",
        "tests/../tests/test_sample.py::test_absent",
    ):
        assert find_test(tmp_path, missing) is None, missing


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("families.toml", "[family.x\n", "not valid TOML"),
        (
            "families.toml",
            '[family.x]\nstatus = "done"\ntitle = "X"\nreason = "r"\n',
            "status must be one of",
        ),
        ("families.toml", "title = 1\n", "[family] table is missing"),
        ("rules/a.toml", 'rule = "x"\n', "must be an array of tables"),
        ("rules/a.toml", '[[rule]]\nkey = "K"\nfamily = "x"\nstatus = "implemented"\n', "'summary' must be"),
        (
            "rules/a.toml",
            '[[rule]]\nkey = "K"\nfamily = "x"\nstatus = "implemented"\nsummary = "s"\nids = "a.b"\n',
            "'ids' must be a list of strings",
        ),
        ("catalogue.toml", 'keys = ["K"]\n', "[source] table is missing"),
    ],
)
def test_malformed_data_is_a_clear_input_error(tmp_path: Path, file: str, text: str, message: str) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "catalogue.toml").write_text(
        'keys = ["K"]\n[source]\n'
        + "".join(
            f'{name} = "v"\n'
            for name in ("repository", "commit", "commit_date", "messages", "constants", "note")
        )
    )
    (tmp_path / "families.toml").write_text(
        '[family.x]\nstatus = "not-applicable"\ntitle = "X"\nreason = "r"\n'
    )
    (tmp_path / file).write_text(text)
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load(tmp_path)


def test_a_missing_data_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load(tmp_path)


def test_the_generator_runs_from_this_checkout() -> None:
    assert repository_root() == ROOT


def _test_problem(name: str, ids: tuple[str, ...]) -> str:
    function = find_test(ROOT, name)
    if function is None:
        return "no such test function"
    file, _ = split_test_name(name)
    if not any(_names(ROOT / file, function, i) for i in ids):
        return f"the test names none of {', '.join(ids)}"
    return ""


def _names(path: Path, function: ast.FunctionDef, message_id: str) -> bool:
    """Whether the test (or a module constant it uses) writes the id (or constraint key); questionnaire
    tests write their ids bare."""
    text = _with_module_constants(path, function)
    bare = message_id.split(".", 1)[1] if message_id.startswith("questionnaire.") else None
    # ast.unparse writes strings in single quotes
    return message_id in text or (bare is not None and f"'{bare}'" in text)


def _with_module_constants(path: Path, function: ast.FunctionDef) -> str:
    module = ast.parse(path.read_text(encoding="utf-8"))
    used = {node.id for node in ast.walk(function) if isinstance(node, ast.Name)}
    constants = [
        ast.unparse(node)
        for node in module.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and any(isinstance(t, ast.Name) and t.id in used for t in _targets(node))
    ]
    return "\n".join([ast.unparse(function), *constants])


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]
