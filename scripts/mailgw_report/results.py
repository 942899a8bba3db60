"""Read the JUnit XML that pytest writes and judge each requirement.

tests/conftest.py stores two properties in each test case: "requirements"
(the identifiers, separated by spaces) and "evidence" (a JSON list of what
the lab helpers did, see tests/lab.py).
"""

import dataclasses
import json
import xml.etree.ElementTree as ElementTree

PASS, FAIL, NOT_VERIFIED = "pass", "fail", "not_verified"


class ResultsError(ValueError):
    """The JUnit XML file is missing or cannot be parsed."""


@dataclasses.dataclass
class TestResult:
    classname: str
    name: str
    outcome: str
    message: str
    seconds: float
    requirements: list
    evidence: list

    @property
    def test_id(self):
        return "%s::%s" % (self.classname, self.name)

    @property
    def anchor(self):
        return "test-" + "".join(char if char.isalnum() else "-" for char in self.test_id)


@dataclasses.dataclass
class Run:
    """The test cases of one pytest run, with when it started and where."""
    results: list
    started: str
    seconds: float
    hostname: str


@dataclasses.dataclass
class Verdict:
    requirement: dict
    status: str
    results: list

    def count(self, outcome):
        return sum(1 for result in self.results if result.outcome == outcome)


def _outcome(case):
    """Return the worst outcome recorded for a test case, with its message."""
    found = {child.tag: child for child in case if child.tag in ("error", "failure", "skipped")}
    for tag, outcome in (("error", "error"), ("failure", "failed"), ("skipped", "skipped")):
        if tag in found:
            return outcome, found[tag].get("message") or (found[tag].text or "").strip()[:500]
    return "passed", ""


def _properties(case):
    values = {}
    for prop in case.iter("property"):
        values.setdefault(prop.get("name"), []).append(prop.get("value") or "")
    return values


def _evidence(values, test_id):
    entries = []
    for text in values.get("evidence", []):
        try:
            entries += json.loads(text)
        except ValueError as error:
            raise ResultsError("the evidence of %s is not valid JSON: %s" % (test_id, error)) from error
    return entries


def read_junit(path):
    """Return the Run that a JUnit XML file of pytest describes."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as error:
        raise ResultsError("cannot read the JUnit XML %s: %s" % (path, error)) from error
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    if not suites:
        raise ResultsError("the JUnit XML %s contains no testsuite element" % path)
    results = []
    for suite in suites:
        for case in suite.iter("testcase"):
            outcome, message = _outcome(case)
            values = _properties(case)
            test_id = "%s::%s" % (case.get("classname", ""), case.get("name", ""))
            requirements = " ".join(values.get("requirements", [])).split()
            results.append(TestResult(
                case.get("classname", ""), case.get("name", ""), outcome, message,
                float(case.get("time") or 0), requirements, _evidence(values, test_id)))
    first = suites[0]
    return Run(results, first.get("timestamp", ""), sum(float(suite.get("time") or 0) for suite in suites),
               first.get("hostname", ""))


def judge(catalogue, results):
    """Return one Verdict per catalogue entry, in catalogue order.

    A requirement fails when any of its tests failed or had an error,
    passes when at least one of its tests passed and none failed, and is
    not verified when none of its tests ran (none found, or all skipped)."""
    verdicts = []
    for requirement in catalogue:
        mine = [result for result in results if requirement["id"] in result.requirements]
        outcomes = {result.outcome for result in mine}
        if outcomes & {"failed", "error"}:
            status = FAIL
        elif "passed" in outcomes:
            status = PASS
        else:
            status = NOT_VERIFIED
        verdicts.append(Verdict(requirement, status, mine))
    return verdicts


def unknown_requirements(catalogue, results):
    """Return {identifier: [test ids]} for identifiers the catalogue lacks."""
    known = {requirement["id"] for requirement in catalogue}
    unknown = {}
    for result in results:
        for identifier in result.requirements:
            if identifier not in known:
                unknown.setdefault(identifier, []).append(result.test_id)
    return unknown
