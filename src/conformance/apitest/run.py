"""Testing a live FHIR server against a standard, and the conformance statement that records it.

`ServerTester(standard, context)` builds the Validator, the standard's record and the search parameter
index once; `test(base_url, product, ...)` runs the CapabilityStatement, per-profile and protocol tests
and returns a statement (format 1.1) whose `results.api` holds the tests and `evidence.api` every
exchange. The per-profile verdicts count the resources the server returned, as `assess` counts payloads;
the overall verdict is non-conformant when any API test failed or could not run.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from conformance import __version__
from conformance.apitest.auth import Auth, AuthError, NoAuth
from conformance.apitest.checks import Expected, capability_tests, content_type_test, protocol_tests
from conformance.apitest.client import ApiClient, ApiClientError, BudgetSpent, Politeness, trusting
from conformance.apitest.log import TestLog
from conformance.apitest.profiles import Limits, ProfileTests
from conformance.apitest.requirements import standard_requirements
from conformance.apitest.resources import ResourceChecker
from conformance.apitest.searchparams import SearchParams
from conformance.context import Context
from conformance.standards import ProfileRequirement, Standard
from conformance.statements.assess import TOOL, Product, RunDetails, standard_record
from conformance.statements.model import (
    STATEMENT_VERSION,
    ApiEvidence,
    ApiResults,
    Environment,
    Evidence,
    MustSupportSeen,
    Provenance,
    Results,
    Statement,
    Subject,
    TerminologySource,
)
from conformance.statements.payloads import payload_set_digest
from conformance.statements.schema import checked
from conformance.statements.verdicts import ProfileTally, overall_verdict
from conformance.terminology import LocalTerminology
from conformance.validation import Validator

LOCAL_TERMINOLOGY = TerminologySource(
    kind="offline",
    description="the loaded FHIR packages only, without a terminology server: membership of codes from "
    "SNOMED CT, LOINC, dm+d and other external code systems is not checked",
)


@dataclass(frozen=True)
class ServerTestOptions:
    patients: tuple[str, ...] = ()
    politeness: Politeness = field(default_factory=Politeness)
    limits: Limits = field(default_factory=Limits)
    ca_cert: Path | None = None  # a private CA the server's certificate is signed by (test environments)


class ServerTester:
    """A standard, a context that serves it, and one Validator, for testing servers."""

    def __init__(self, standard: Standard, context: Context) -> None:
        self.standard = standard
        self.record = standard_record(standard, context)
        self.validator = Validator(context, terminology=LocalTerminology(context, context.fhir_version))
        self.params = SearchParams(context, {profile.type for profile in standard.profiles})
        self.requirements = standard_requirements(context, standard)

    def test(
        self,
        base_url: str,
        product: Product,
        *,
        auth: Auth | None = None,
        options: ServerTestOptions = ServerTestOptions(),
        run: RunDetails | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> Statement:
        """Test the server; ApiClientError when it cannot be reached at all."""
        used_auth = auth or NoAuth()
        run = run or RunDetails()
        verify_tls = trusting(options.ca_cert) if options.ca_cert is not None else True
        with ApiClient(base_url, used_auth, options.politeness, transport, verify_tls) as client:
            log, checker = TestLog(), ResourceChecker(self.standard, self.validator)
            self._tests(client, log, checker, options)
            exchanges = tuple(client.exchanges)
            token_urls = {e.url for e in exchanges if e.response_body.startswith("[withheld")}
            content_type_test(log, list(exchanges), token_urls)
            must_support = checker.must_support(self.record.profiles)
            must_support_tests(log, must_support)
            results = log.results(client.base_url, must_support)
            evidence = ApiEvidence(
                base_url=client.base_url,
                auth=used_auth.description,
                exchanges=exchanges,
                resources=tuple(checker.records),
            )
        return checked(self._statement(product, run, checker, results, evidence))

    def _tests(
        self, client: ApiClient, log: TestLog, checker: ResourceChecker, options: ServerTestOptions
    ) -> None:
        scope: dict[str, list[str]] = {}
        for profile in self.standard.profiles:
            scope.setdefault(profile.type, []).append(profile.url)
        try:
            expected = Expected(self.standard.fhir_version.value, scope, self.requirements)
            capability = capability_tests(client, log, self.validator, expected)
            if capability is None and not client.exchanges[-1].status:
                raise ApiClientError(f"cannot reach {client.base_url}: {client.exchanges[-1].error}")
            # The protocol tests are few: run before the many searches, the budget cannot leave them out.
            protocol_tests(client, log, capability, _known_type(self.standard))
            profile_tests = ProfileTests(client, log, self.params, checker, options.limits, self.requirements)
            for profile in _search_order(self.standard.profiles):
                try:
                    profile_tests.run(profile, options.patients)
                except AuthError as exc:
                    log.add(
                        f"auth.{profile.type}",
                        "the tool can authenticate",
                        "error",
                        str(exc),
                        (),
                        profile=profile.url,
                    )
        except BudgetSpent as exc:
            log.add(
                "budget", "the request budget sufficed", "skipped", f"{exc}; the remaining tests were not run"
            )

    def _statement(
        self,
        product: Product,
        run: RunDetails,
        checker: ResourceChecker,
        api: ApiResults,
        evidence: ApiEvidence,
    ) -> Statement:
        profiles = self.record.profiles
        per_profile = tuple(checker.tallies.get(p.url, ProfileTally()).result(p) for p in profiles)
        verdict, reason = overall_verdict(per_profile, profiles, 0)
        if api.outcome == "fail":
            verdict, reason = "non-conformant", f"the server failed API tests: {api.reason}"
        moment = (run.generated_at or datetime.now(UTC)).astimezone(UTC)
        return Statement(
            statement_version=STATEMENT_VERSION,
            subject=Subject(
                supplier=product.supplier,
                product=product.name,
                product_version=product.version,
                payload_count=0,
                payload_set_sha256=payload_set_digest(()),
            ),
            standard=self.record,
            results=Results(
                verdict=verdict,
                reason=reason,
                rests_on_draft_profiles=any(r.rests_on_draft and r.tested for r in per_profile),
                profiles=per_profile,
                unreadable_payloads=0,
                out_of_scope=(),
                suppressed_issues=0,
                api=api,
            ),
            evidence=Evidence(payloads=(), api=evidence),
            environment=Environment(
                tool=TOOL,
                tool_version=__version__,
                python_version=platform.python_version(),
                terminology=run.terminology or LOCAL_TERMINOLOGY,
            ),
            provenance=Provenance(
                generated_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                generated_by=run.generated_by or f"{TOOL} {__version__}",
                command=run.command or "(called from Python: conformance.apitest)",
            ),
        )


def must_support_tests(log: TestLog, seen: Sequence[MustSupportSeen]) -> None:
    """One test per profile with resources: must-support elements never seen are not demonstrated (the
    server may support them; its data did not show them), never failed."""
    by_profile: dict[str, list[MustSupportSeen]] = {}
    for item in seen:
        if item.resources:
            by_profile.setdefault(item.profile, []).append(item)
    for url, items in by_profile.items():
        name = url.rsplit("/", 1)[-1]
        missing = [item.element for item in items if not item.seen_in]
        title = f"the must-support elements of {name} are seen in the resources returned"
        if missing:
            shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
            reason = f"{len(missing)} of {len(items)} never seen: {shown}"
            log.add(f"must-support.{name}", title, "not-demonstrated", reason, profile=url)
        else:
            log.add(f"must-support.{name}", title, "pass", f"all {len(items)} seen", profile=url)


def _search_order(profiles: Sequence[ProfileRequirement]) -> list[ProfileRequirement]:
    """Patient first (others search by it), then the other types; one search plan per type."""
    defaults = [p for p in profiles if p.default_for_type]
    return sorted(defaults, key=lambda p: (p.type != "Patient", p.type))


def _known_type(standard: Standard) -> str:
    return "Patient" if standard.has_type("Patient") else standard.profiles[0].type


def assess_server(
    standard: Standard,
    context: Context,
    base_url: str,
    product: Product,
    *,
    auth: Auth | None = None,
    options: ServerTestOptions = ServerTestOptions(),
    run: RunDetails | None = None,
) -> Statement:
    """Test one server (one-off; use ServerTester to test several)."""
    return ServerTester(standard, context).test(base_url, product, auth=auth, options=options, run=run)
