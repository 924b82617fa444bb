"""Resources a server returned: each validated once against its profiles, recorded, and counted per
profile (as `assess` counts payloads), with the must-support elements each showed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.outcome import Issue
from conformance.standards import ProfileRequirement, Standard, bare_canonical
from conformance.statements.gaps import gaps_of
from conformance.statements.model import ApiResource, IssueRecord, MustSupportSeen, ProfileInScope, clip
from conformance.statements.verdicts import ProfileTally
from conformance.validation import Validator


@dataclass(frozen=True)
class Checked:
    """One resource's validation: whether it is valid, and its first error."""

    valid: bool
    first_error: str


@dataclass
class ResourceChecker:
    standard: Standard
    validator: Validator
    records: list[ApiResource] = field(default_factory=list)
    tallies: dict[str, ProfileTally] = field(default_factory=dict)
    _done: dict[tuple[str, str], Checked] = field(default_factory=dict)
    _must_support: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _seen: dict[str, Counter[str]] = field(default_factory=dict)
    _counted: Counter[str] = field(default_factory=Counter)

    def profiles_for(self, resource: Mapping[str, Any]) -> tuple[ProfileRequirement, ...]:
        """The standard's profiles a returned resource is judged by: those it claims, else its type's."""
        resource_type = str(resource.get("resourceType", ""))
        meta = resource.get("meta")
        claimed = meta.get("profile") if isinstance(meta, dict) else None
        chosen = [p for url in claimed or () if isinstance(url, str) and (p := self.standard.profile(url))]
        if not chosen and (default := self.standard.default_profile_for(resource_type)) is not None:
            chosen = [default]
        return tuple(dict.fromkeys(chosen))

    def check(self, resource: Mapping[str, Any], exchange: str, entry: str) -> Checked:
        """Validate a resource (once per distinct content and profile set), record and count it."""
        profiles = self.profiles_for(resource)
        urls = tuple(p.url for p in profiles)
        digest = hashlib.sha256(json.dumps(resource, sort_keys=True).encode()).hexdigest()
        known = self._done.get((digest, ",".join(urls)))
        if known is not None:
            return known
        issues = self.validator.validate(dict(resource), profiles=list(urls)).issues
        errors = [issue for issue in issues if issue.severity.is_error]
        checked = Checked(not errors, f"{errors[0].location}: {errors[0].message}" if errors else "")
        self._done[(digest, ",".join(urls))] = checked
        self.records.append(_record(resource, (exchange, entry), urls, checked.valid, issues))
        self._count(resource, profiles, issues)
        return checked

    def _count(
        self, resource: Mapping[str, Any], profiles: Sequence[ProfileRequirement], issues: Sequence[Issue]
    ) -> None:
        urls = {p.url for p in profiles}
        for profile in profiles:
            others = urls - {profile.url}
            counted = [
                (i.severity.value, i.message_id)
                for i in issues
                if bare_canonical(i.profile or "") not in others
            ]
            self.tallies.setdefault(profile.url, ProfileTally()).add(counted, gaps_of(issues))
            self._note_must_support(profile.url, resource)

    # --- must-support --------------------------------------------------------------------------------

    def _note_must_support(self, url: str, resource: Mapping[str, Any]) -> None:
        paths = self._must_support.get(url)
        if paths is None:
            paths = self._must_support[url] = _must_support_paths(self.validator, url)
        self._counted[url] += 1
        seen = self._seen.setdefault(url, Counter())
        seen.update(path for path in paths if _present(resource, path.split(".")[1:]))

    def must_support(self, profiles: Sequence[ProfileInScope]) -> tuple[MustSupportSeen, ...]:
        return tuple(
            MustSupportSeen(
                profile=p.url, element=path, resources=self._counted[p.url], seen_in=self._seen[p.url][path]
            )
            for p in profiles
            if p.url in self._must_support
            for path in self._must_support[p.url]
        )


def _must_support_paths(validator: Validator, url: str) -> tuple[str, ...]:
    """The must-support elements of a profile, by path (slices and their children folded into the path)."""
    snapshot = validator.engine.definitions.snapshot(url)
    elements = (snapshot or {}).get("snapshot", {}).get("element") or ()
    paths = [
        str(element["path"])
        for element in elements
        if isinstance(element, dict)
        and element.get("mustSupport") is True
        and "." in str(element.get("path", ""))
    ]
    return tuple(dict.fromkeys(paths))


def _present(value: Any, steps: Sequence[str]) -> bool:
    """Whether an element path has a value in a resource (choice elements `[x]` match any type)."""
    if not steps:
        return value not in (None, "", [], {})
    if isinstance(value, list):
        return any(_present(item, steps) for item in value)
    if not isinstance(value, dict):
        return False
    step, rest = steps[0], steps[1:]
    if step.endswith("[x]"):
        stem = step[:-3]
        return any(
            key.startswith(stem) and key[len(stem) :][:1].isupper() and _present(v, rest)
            for key, v in value.items()
        )
    return step in value and _present(value[step], rest)


def _record(
    resource: Mapping[str, Any],
    where: tuple[str, str],
    urls: tuple[str, ...],
    valid: bool,
    issues: Sequence[Issue],
) -> ApiResource:
    """The record of one validated resource; `where` is (exchange id, place in the body)."""
    exchange, entry = where
    identifier = resource.get("id")
    return ApiResource(
        exchange=exchange,
        entry=entry,
        resource_type=clip(str(resource.get("resourceType", "")), 200) or "(none)",
        id=clip(identifier, 200) if isinstance(identifier, str) else None,
        profiles=urls,
        valid=valid,
        issues=tuple(_issue(issue) for issue in issues if issue.severity.value != "information"),
    )


def _issue(issue: Issue) -> IssueRecord:
    fields: dict[str, Any] = {
        key: clip(value) if isinstance(value, str) else value for key, value in issue.to_dict().items()
    }
    return IssueRecord(**fields)
