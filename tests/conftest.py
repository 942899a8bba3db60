"""Fixtures for the lab tests: the lab manifest and one host per container.

The manifest is written by playbooks/lab/manifest.yml at the end of every
converge, into $MAILGW_STATE_DIR (Molecule sets it; "make lab" uses .lab/).
"""

import json
import os
import pathlib

import pytest
import testinfra

CHECKLIST = {
    "packet_filter": "M 5.116 checklist: the mail server is protected by a "
    "packet filter against unauthorised access from the internal network",
    "separate_relay": "M 5.116 checklist: mail to external addresses is sent "
    "through a separate mail relay",
    "secure_links": "M 5.116 checklist: every communication link, internal and "
    "external, meets the security requirements",
    "mail_flows": "M 5.116: internal mail stays in the trusted network and "
    "keeps flowing without the internet link; all mail flows work",
}


def pytest_configure(config):
    for name, text in CHECKLIST.items():
        config.addinivalue_line("markers", "%s: %s" % (name, text))


def _state_dir():
    configured = os.environ.get("MAILGW_STATE_DIR")
    if configured:
        return pathlib.Path(configured)
    return pathlib.Path(__file__).resolve().parent.parent / ".lab"


@pytest.fixture(scope="session")
def lab():
    """The lab manifest: containers, addresses, domains and users."""
    path = _state_dir() / "manifest.json"
    if not path.exists():
        pytest.fail("lab manifest %s not found: converge the lab first "
                    "(make lab, or molecule converge)" % path)
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def hosts(lab):
    """Testinfra hosts by inventory name, reached with docker exec."""
    return {
        name: testinfra.get_host("docker://" + container)
        for name, container in lab["containers"].items()
    }


def address_of(lab, name, zone=None):
    """Return a host's address, in the given zone or its first one."""
    for interface in lab["addresses"][name]:
        if zone is None or interface["zone"] == zone:
            return interface["address"]
    raise KeyError("%s has no address in zone %s" % (name, zone))


@pytest.fixture(scope="session")
def john(lab):
    return lab["users"][0]


@pytest.fixture(scope="session")
def erika(lab):
    return lab["users"][1]


def pytest_terminal_summary(terminalreporter):
    """Print one line per checklist item: how many of its tests passed."""
    counts = {name: {"passed": 0, "failed": 0} for name in CHECKLIST}
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") not in ("call", "setup"):
                continue
            if outcome == "passed" and report.when != "call":
                continue
            for name in CHECKLIST:
                if name in report.keywords:
                    counts[name]["passed" if outcome == "passed" else "failed"] += 1
    terminalreporter.section("M 5.116 checklist")
    for name, text in CHECKLIST.items():
        passed, failed = counts[name]["passed"], counts[name]["failed"]
        if failed:
            verdict = "FAIL"
        elif passed:
            verdict = "PASS"
        else:
            verdict = "NOT VERIFIED"
        terminalreporter.write_line("%-12s %2d passed %2d failed  %s" % (verdict, passed, failed, text))
