"""Tests per profile of the standard: search, match, paging, read, POST _search, unknown parameters,
references followed, every returned resource validated.

The first search of a type uses the patient ids given (`_id` for Patient, `patient` for types that have
that search parameter), later searches take their values from the resources found, as Inferno does.
Types without a patient parameter are searched by the ids that references led to, or by type alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from conformance.apitest.client import ApiClient, Reply
from conformance.apitest.log import TestLog
from conformance.apitest.requirements import TypeRequirements
from conformance.apitest.resources import ResourceChecker
from conformance.apitest.searchparams import SearchParams
from conformance.standards import ProfileRequirement
from conformance.statements.model import ApiOutcome

# Follow-up search parameters tried for each type, in order, when the type has them (US Core and UK Core
# implementation guides ask for these alongside patient).
FOLLOW_UPS: Mapping[str, tuple[str, ...]] = {
    "Patient": ("identifier", "family", "gender"),
}
_GENERAL_FOLLOW_UPS = ("code", "category", "clinical-status", "status", "type")
_UNKNOWN_PARAMETER = "conformance-tester-unknown-parameter"


@dataclass(frozen=True)
class Limits:
    page_size: int = 10
    max_pages: int = 3
    max_references: int = 10


@dataclass
class Found:
    """What one search returned: the matching resources (by the exchange that held them)."""

    reply: Reply
    query: dict[str, str] = field(default_factory=dict)
    resources: list[tuple[Mapping[str, Any], str, str]] = field(default_factory=list)
    exchanges: list[str] = field(default_factory=list)
    problem: str = ""


@dataclass
class ProfileTests:
    client: ApiClient
    log: TestLog
    params: SearchParams
    checker: ResourceChecker
    limits: Limits = field(default_factory=Limits)
    requirements: Mapping[str, TypeRequirements] = field(default_factory=dict)
    references_seen: dict[str, set[str]] = field(default_factory=dict)

    def run(self, profile: ProfileRequirement, patients: Sequence[str]) -> None:
        name = profile.url.rsplit("/", 1)[-1]
        searches = self._first_searches(profile.type, patients)
        returned: list[tuple[Mapping[str, Any], str, str]] = []
        first: Found | None = None
        for query in searches:
            found = self._search_test(profile, name, query)
            if not found.resources and "patient" in query:
                found = self._typed_reference_retry(profile, name, query, found)
            returned.extend(found.resources)
            first = first or (found if found.resources else None)
        if first is not None:
            self._follow_ups(profile, name, first)
            self._paging_test(profile, name, first.query)
            self._read_test(profile, name, first)
            self._post_search_test(profile, name, first.query, first)
            self._unknown_parameter_test(profile, name, first.query, first)
        self._validity_test(profile, name, returned)
        self._reference_test(profile, name, returned)

    # --- searching ---------------------------------------------------------------------------------------

    def _first_searches(self, resource_type: str, patients: Sequence[str]) -> list[dict[str, str]]:
        if patients and resource_type == "Patient":
            return [{"_id": patient} for patient in patients]
        if patients and self.params.get(resource_type, "patient") is not None:
            return [{"patient": patient} for patient in patients]
        known = sorted(self.references_seen.get(resource_type, ()))[:3]
        return [{"_id": ",".join(known)}] if known else [{}]

    def _typed_reference_retry(
        self, profile: ProfileRequirement, name: str, query: Mapping[str, str], bare: Found
    ) -> Found:
        """search.html: a reference parameter matches a plain id as well as `Type/id`; a server that
        finds nothing by the id but something by `Patient/id` breaks that rule."""
        typed = {**query, "patient": f"Patient/{query['patient']}"}
        found = self._search(profile.type, typed)
        if not found.resources:
            return bare
        self.log.add(
            f"search-reference-id.{name}",
            f"{profile.type}?patient=[id] finds what patient=Patient/[id] finds",
            "fail",
            f"patient={query['patient']} found nothing, patient=Patient/{query['patient']} found "
            f"{len(found.resources)}: the server does not accept a plain id for a reference parameter",
            [*bare.exchanges, *found.exchanges],
            profile=profile.url,
        )
        return self._search_test(profile, name, typed)

    def _search(self, resource_type: str, query: Mapping[str, str]) -> Found:
        url = f"{resource_type}?{urlencode({**query, '_count': str(self.limits.page_size)})}"
        reply = self.client.get(url)
        found = Found(reply, dict(query), exchanges=list(reply.exchanges))
        pages = 0
        while True:
            body = reply.json()
            if reply.status != 200 or not isinstance(body, dict):
                found.problem = f"GET {url} answered {reply.status or reply.error}"
                return found
            if body.get("resourceType") != "Bundle" or body.get("type") != "searchset":
                found.problem = f"GET {url} did not answer with a searchset Bundle"
                return found
            for index, entry in enumerate(body.get("entry") or ()):
                resource = entry.get("resource") if isinstance(entry, dict) else None
                mode = (
                    (entry.get("search") or {}).get("mode", "match") if isinstance(entry, dict) else "match"
                )
                if (
                    isinstance(resource, dict)
                    and mode == "match"
                    and resource.get("resourceType") == resource_type
                ):
                    found.resources.append((resource, reply.exchange, f"entry[{index}].resource"))
            pages += 1
            following = _next_link(body)
            if following is None or pages >= self.limits.max_pages:
                return found
            reply = self.client.get(following)
            found.exchanges.extend(reply.exchanges)

    def _search_test(self, profile: ProfileRequirement, name: str, query: Mapping[str, str]) -> Found:
        found = self._search(profile.type, query)
        shown = "&".join(f"{k}={v}" for k, v in query.items()) or "(no parameters)"
        test_id = f"search.{name}.{'+'.join(sorted(query)) or 'type'}"
        title = f"GET {profile.type}?{shown}"
        if found.problem:
            outcome: ApiOutcome = "error" if found.reply.status is None else "fail"
            self.log.add(test_id, title, outcome, found.problem, found.exchanges, profile=profile.url)
            return found
        if not found.resources:
            self.log.add(
                test_id,
                title,
                "not-demonstrated",
                "the search found nothing",
                found.exchanges,
                profile=profile.url,
            )
            return found
        failures = self._mismatches(profile.type, query, found)
        for resource, exchange, entry in found.resources:
            self.checker.check(resource, exchange, entry)
            self._note_references(resource)
        self.log.check(
            test_id,
            title,
            failures,
            f"{len(found.resources)} resource(s), each matching the search",
            found.exchanges,
            profile=profile.url,
        )
        return found

    def _mismatches(self, resource_type: str, query: Mapping[str, str], found: Found) -> list[str]:
        failures = []
        for code, wanted in query.items():
            param = self.params.get(resource_type, code)
            if param is None:
                continue
            for resource, _, _ in found.resources:
                # `_id=a,b` is a list of ids (an OR), as references led to them.
                if not any(
                    self.params.matches(param, value, resource) is not False for value in wanted.split(",")
                ):
                    failures.append(f"{resource_type}/{resource.get('id')} does not match {code}={wanted}")
        return failures

    def _follow_ups(self, profile: ProfileRequirement, name: str, first: Found) -> None:
        resource = first.resources[0][0]
        base = {k: v for k, v in first.query.items() if k != "_id"}
        required = self.requirements.get(profile.type, TypeRequirements()).search_params
        # The standard's own required parameters first, each searched; then the usual ones.
        for code in required:
            param = self.params.get(profile.type, code)
            value = self.params.search_value(param, resource) if param is not None else None
            if param is not None and value is not None and code not in base:
                self._search_test(profile, name, {**base, code: value})
        for code in FOLLOW_UPS.get(profile.type, _GENERAL_FOLLOW_UPS):
            param = self.params.get(profile.type, code)
            value = self.params.search_value(param, resource) if param is not None else None
            if param is None or value is None:
                continue
            self._search_test(profile, name, {**base, code: value})
            if profile.type != "Patient":
                return  # one follow-up beside the patient is enough to show the combination works

    def _paging_test(self, profile: ProfileRequirement, name: str, query: Mapping[str, str]) -> None:
        test_id, title = f"paging.{name}", f"{profile.type} results beyond the first page are reachable"
        small = self.client.get(f"{profile.type}?{urlencode({**query, '_count': '1'})}")
        body = small.json()
        entries = (
            [e for e in (body or {}).get("entry") or () if isinstance(e, dict)]
            if isinstance(body, dict)
            else []
        )
        whole = self._search(profile.type, query)
        ids = [*small.exchanges, *whole.exchanges]
        if small.status != 200 or not isinstance(body, dict):
            self.log.add(
                test_id,
                title,
                "fail",
                f"_count=1 answered {small.status or small.error}",
                ids,
                profile=profile.url,
            )
        elif len(whole.resources) <= 1:
            self.log.add(
                test_id,
                title,
                "not-demonstrated",
                "one result or none: nothing to page through",
                ids,
                profile=profile.url,
            )
        elif len(entries) > 1:
            self.log.add(
                test_id, title, "fail", f"_count=1 returned {len(entries)} entries", ids, profile=profile.url
            )
        elif _next_link(body) is None:
            self.log.add(
                test_id,
                title,
                "fail",
                f"{len(whole.resources)} results exist, but with _count=1 the "
                "Bundle has no next link to reach the others",
                ids,
                profile=profile.url,
            )
        else:
            following = self.client.get(str(_next_link(body)))
            second = following.json()
            ok = following.status == 200 and isinstance(second, dict) and second.get("entry")
            self.log.add(
                test_id,
                title,
                "pass" if ok else "fail",
                "the next link leads to the next page"
                if ok
                else "the next link does not lead to more results",
                [*ids, *following.exchanges],
                profile=profile.url,
            )

    def _read_test(self, profile: ProfileRequirement, name: str, first: Found) -> None:
        resource = first.resources[0][0]
        identifier = resource.get("id")
        test_id, title = f"read.{name}", f"GET {profile.type}/[id] of a resource found"
        if not isinstance(identifier, str):
            self.log.add(
                test_id, title, "fail", "a resource found has no id", first.exchanges, profile=profile.url
            )
            return
        reply = self.client.get(f"{profile.type}/{identifier}")
        body = reply.json()
        failures = []
        if reply.status != 200 or not isinstance(body, dict):
            failures.append(f"answered {reply.status or reply.error}")
        elif body.get("resourceType") != profile.type or body.get("id") != identifier:
            failures.append(f"answered {body.get('resourceType')}/{body.get('id')}")
        else:
            self.checker.check(body, reply.exchange, "")
        self.log.check(
            test_id,
            title,
            failures,
            f"read {profile.type}/{identifier}",
            reply.exchanges,
            profile=profile.url,
        )

    def _post_search_test(
        self, profile: ProfileRequirement, name: str, query: Mapping[str, str], first: Found
    ) -> None:
        reply = self.client.post_search(profile.type, {**query, "_count": str(self.limits.page_size)})
        posted = _ids(reply)
        wanted = {
            str(resource.get("id"))
            for resource, exchange, _ in first.resources
            if exchange == first.reply.exchange
        }
        failures = (
            []
            if posted == wanted
            else [f"POST _search found {len(posted or ())} resource(s), GET found {len(wanted)}"]
        )
        if reply.status != 200:
            failures = [f"answered {reply.status or reply.error}"]
        self.log.check(
            f"search-post.{name}",
            f"POST {profile.type}/_search finds what GET finds",
            failures,
            "the same resources",
            [*first.reply.exchanges, *reply.exchanges],
            profile=profile.url,
        )

    def _unknown_parameter_test(
        self, profile: ProfileRequirement, name: str, query: Mapping[str, str], first: Found
    ) -> None:
        # search.html: a server ignores parameters it does not know, unless the client asks for strict
        # handling.
        extra = {**query, _UNKNOWN_PARAMETER: uuid.uuid4().hex[:8], "_count": str(self.limits.page_size)}
        reply = self.client.get(f"{profile.type}?{urlencode(extra)}", headers={"Prefer": "handling=lenient"})
        got = _ids(reply)
        wanted = {
            str(resource.get("id"))
            for resource, exchange, _ in first.resources
            if exchange == first.reply.exchange
        }
        failures = (
            []
            if got == wanted
            else [
                "with an unknown parameter and Prefer: handling=lenient it found "
                f"{len(got or ())} resource(s) instead "
                f"of {len(wanted)}: the parameter was not ignored"
            ]
        )
        self.log.check(
            f"search-unknown-parameter.{name}",
            "an unknown search parameter is ignored (lenient handling)",
            failures,
            "ignored",
            [*first.reply.exchanges, *reply.exchanges],
            profile=profile.url,
        )

    # --- validity and references ---------------------------------------------------------------------

    def _validity_test(
        self, profile: ProfileRequirement, name: str, returned: Sequence[tuple[Mapping[str, Any], str, str]]
    ) -> None:
        test_id, title = f"valid.{name}", f"every {profile.type} returned conforms to {name}"
        if not returned:
            self.log.add(
                test_id, title, "not-demonstrated", f"no {profile.type} was returned", (), profile=profile.url
            )
            return
        failures = []
        for resource, exchange, entry in returned:
            checked = self.checker.check(resource, exchange, entry)
            if not checked.valid:
                failures.append(f"{profile.type}/{resource.get('id')}: {checked.first_error}")
        exchanges = sorted({exchange for _, exchange, _ in returned})
        self.log.check(test_id, title, failures, f"all {len(returned)} valid", exchanges, profile=profile.url)

    def _note_references(self, resource: Mapping[str, Any]) -> None:
        for reference in _references(resource):
            parts = reference.split("/")
            if len(parts) == 2 and parts[0][:1].isupper():
                self.references_seen.setdefault(parts[0], set()).add(parts[1])

    def _reference_test(
        self, profile: ProfileRequirement, name: str, returned: Sequence[tuple[Mapping[str, Any], str, str]]
    ) -> None:
        targets = list(
            dict.fromkeys(
                reference
                for resource, _, _ in returned
                for reference in _references(resource)
                if len(reference.split("/")) == 2 and reference.split("/")[0][:1].isupper()
            )
        )[: self.limits.max_references]
        test_id, title = f"references.{name}", f"references in {profile.type} resolve to valid resources"
        if not targets:
            self.log.add(
                test_id,
                title,
                "not-demonstrated",
                "no relative references to follow",
                (),
                profile=profile.url,
            )
            return
        failures: list[str] = []
        ids: list[str] = []
        # Fetched side by side up to the concurrency cap; validated one by one (the Validator is not shared
        # between threads).
        with ThreadPoolExecutor(max_workers=self.client.politeness.concurrency) as pool:
            replies = list(pool.map(self.client.get, targets))
        for reference, reply in zip(targets, replies, strict=True):
            ids.extend(reply.exchanges)
            body = reply.json()
            if reply.status != 200 or not isinstance(body, dict):
                failures.append(f"{reference} answered {reply.status or reply.error}")
                continue
            checked = self.checker.check(body, reply.exchange, "")
            if not checked.valid:
                failures.append(f"{reference} is not valid: {checked.first_error}")
        self.log.check(
            test_id,
            title,
            failures,
            f"{len(targets)} reference(s) resolved to valid resources",
            ids,
            profile=profile.url,
        )


def _next_link(body: Mapping[str, Any]) -> str | None:
    for link in body.get("link") or ():
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None


def _ids(reply: Reply) -> set[str] | None:
    body = reply.json()
    if reply.status != 200 or not isinstance(body, dict):
        return None
    return {
        str(entry["resource"].get("id"))
        for entry in body.get("entry") or ()
        if isinstance(entry, dict)
        and isinstance(entry.get("resource"), dict)
        and (entry.get("search") or {}).get("mode", "match") == "match"
    }


def _references(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        reference = value.get("reference")
        if isinstance(reference, str) and not reference.startswith("#"):
            found.append(reference)
        for key, item in value.items():
            if key != "contained":
                found.extend(_references(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_references(item))
    return found
