"""Judging requirements from the JUnit XML of the lab tests."""

import pytest

from conftest import write_junit
from mailgw_report import catalogue, results

CATALOGUE = [
    {"id": "REQ-A", "source": {"en": "s", "de": "s"}, "title": {"en": "A", "de": "A"}, "text": {"en": "a", "de": "a"}},
    {"id": "REQ-B", "source": {"en": "s", "de": "s"}, "title": {"en": "B", "de": "B"}, "text": {"en": "b", "de": "b"}},
]


def statuses(verdicts):
    return {verdict.requirement["id"]: verdict.status for verdict in verdicts}


def test_failed_test_fails_its_requirement(junit_path):
    run = results.read_junit(junit_path)
    verdicts = statuses(results.judge(catalogue.load(), run.results))

    assert verdicts["M5.116-3"] == results.FAIL
    assert verdicts["TR-02102-2/tls"] == results.FAIL
    assert verdicts["M5.116-1"] == results.PASS


def test_requirement_without_tests_is_not_verified(junit_path):
    run = results.read_junit(junit_path)
    verdicts = statuses(results.judge(catalogue.load(), run.results))

    assert verdicts["NET.1.1.A4"] == results.NOT_VERIFIED
    assert verdicts["KIT-bad-change-keeps-service"] == results.NOT_VERIFIED


def test_only_skipped_tests_is_not_verified(tmp_path):
    path = write_junit(tmp_path / "junit.xml", [
        {"name": "test_one", "requirements": ["REQ-A"], "outcome": "skipped"},
        {"name": "test_two", "requirements": ["REQ-B"]},
    ])
    verdicts = statuses(results.judge(CATALOGUE, results.read_junit(path).results))

    assert verdicts == {"REQ-A": results.NOT_VERIFIED, "REQ-B": results.PASS}


@pytest.mark.parametrize("outcome", ["failed", "error"])
def test_one_bad_test_fails_despite_passes(tmp_path, outcome):
    path = write_junit(tmp_path / "junit.xml", [
        {"name": "test_one", "requirements": ["REQ-A"]},
        {"name": "test_two", "requirements": ["REQ-A", "REQ-B"], "outcome": outcome},
        {"name": "test_three", "requirements": ["REQ-B"]},
    ])
    verdicts = statuses(results.judge(CATALOGUE, results.read_junit(path).results))

    assert verdicts == {"REQ-A": results.FAIL, "REQ-B": results.FAIL}


def test_evidence_and_requirements_are_read(junit_path):
    run = results.read_junit(junit_path)
    first = run.results[0]

    assert first.test_id == "test_packet_filter::test_client_reaches_only_mailbox_ports[agency]"
    assert first.requirements == ["M5.116-1", "NET.3.2.A2"]
    assert first.outcome == "passed"
    assert first.evidence[0] == {"from": "mailgw-agency-client", "to": "172.29.2.10:465",
                                 "action": "TCP connect", "result": "open", "count": 1}
    assert run.started == "2026-12-01T09:30:00.000000+00:00"
    assert run.hostname == "ci-runner"


def test_unknown_identifier_is_found(tmp_path):
    path = write_junit(tmp_path / "junit.xml", [{"name": "test_one", "requirements": ["REQ-A", "REQ-Z"]}])

    unknown = results.unknown_requirements(CATALOGUE, results.read_junit(path).results)

    assert unknown == {"REQ-Z": ["test_sample::test_one"]}


def test_unreadable_junit_is_rejected(tmp_path):
    broken = tmp_path / "junit.xml"
    broken.write_text("<testsuites><testsuite>", encoding="utf-8")

    with pytest.raises(results.ResultsError, match="cannot read the JUnit XML"):
        results.read_junit(broken)


def test_catalogue_rejects_missing_german_text(tmp_path):
    path = tmp_path / "catalogue.yml"
    path.write_text("- id: REQ-A\n  source: s\n  title: {en: A, de: A}\n  text: {en: a}\n", encoding="utf-8")

    with pytest.raises(catalogue.CatalogueError, match="REQ-A has no text in language 'de'"):
        catalogue.load(path)


def test_catalogue_rejects_duplicate_identifier(tmp_path):
    entry = "- id: REQ-A\n  source: s\n  title: {en: A, de: A}\n  text: {en: a, de: a}\n"
    path = tmp_path / "catalogue.yml"
    path.write_text(entry + entry, encoding="utf-8")

    with pytest.raises(catalogue.CatalogueError, match="REQ-A is listed twice"):
        catalogue.load(path)
