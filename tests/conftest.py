"""Fixtures for the lab tests: the lab manifest and one host per container.

The manifest is written by playbooks/lab/manifest.yml at the end of every
converge, into $MAILGW_STATE_DIR (Molecule sets it; "make lab" uses .lab/).
"""

import json
import os
import pathlib

import pytest
import testinfra
import yaml

import lab as lab_helpers

# The requirements a test may name with @pytest.mark.requirement.
CATALOGUE = pathlib.Path(__file__).resolve().parent.parent / "requirements" / "catalogue.yml"

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

# Test groups that the summary lists after the checklist items.
OTHER_GROUPS = {
    "input_checks": "Bad inventory values stop the deployment before any host changes",
    "safe_changes": "Changes take effect with a reload or, where needed, a restart, "
    "and a change that a daemon's own check rejects leaves the old service running",
    "faults": "Faults lose no mail: a down relay, internet host, mail server or "
    "packet filter delays mail, and every message arrives once",
}


def pytest_configure(config):
    for name, text in {**CHECKLIST, **OTHER_GROUPS}.items():
        config.addinivalue_line("markers", "%s: %s" % (name, text))
    config.addinivalue_line(
        "markers", "requirement(*ids): the requirements of requirements/catalogue.yml that the test proves")


def requirement_ids(item):
    """Return the requirement identifiers of a test, from its own markers
    and its module's pytestmark, each once."""
    ids = []
    for marker in item.iter_markers("requirement"):
        ids += [str(value) for value in marker.args if str(value) not in ids]
    return ids


def pytest_collection_modifyitems(config, items):
    """Reject the run when a test names no requirement or one that the
    catalogue does not define, and store each test's requirements in its
    JUnit XML record."""
    known = {entry["id"] for entry in yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))}
    problems = []
    for item in items:
        ids = requirement_ids(item)
        if not ids:
            problems.append("%s names no requirement" % item.nodeid)
        unknown = [value for value in ids if value not in known]
        if unknown:
            problems.append("%s names unknown requirements %s" % (item.nodeid, ", ".join(unknown)))
        item.user_properties.append(("requirements", " ".join(ids)))
    if problems:
        raise pytest.UsageError(
            "Requirement markers are missing or invalid. Add @pytest.mark.requirement(...) with "
            "identifiers from %s:\n  %s" % (CATALOGUE, "\n  ".join(problems)))
    skip_groups(config, items)


def skipped_groups():
    """Return the group names in $MAILGW_SKIP_GROUPS."""
    return [name.strip() for name in os.environ.get("MAILGW_SKIP_GROUPS", "").split(",") if name.strip()]


def skip_groups(config, items):
    """Skip the tests of the groups named in $MAILGW_SKIP_GROUPS (comma
    separated, such as "faults,safe_changes"). A scenario uses it for groups
    that another scenario proves; the summary then shows them as SKIPPED."""
    groups = skipped_groups()
    unknown = [name for name in groups if name not in {**CHECKLIST, **OTHER_GROUPS}]
    if unknown:
        raise pytest.UsageError("MAILGW_SKIP_GROUPS names unknown groups %s; use names from %s"
                                % (", ".join(unknown), ", ".join({**CHECKLIST, **OTHER_GROUPS})))
    for item in items:
        for name in groups:
            if name in item.keywords:
                item.add_marker(pytest.mark.skip(reason="MAILGW_SKIP_GROUPS contains " + name))


@pytest.fixture(autouse=True)
def evidence(record_property):
    """Record what the lab helpers did during the test (see lab.record)
    as the JUnit XML property "evidence", a JSON list."""
    lab_helpers.start_evidence()
    yield
    record_property("evidence", json.dumps(lab_helpers.take_evidence()))


def state_dir():
    """Return the lab state directory: $MAILGW_STATE_DIR, else .lab/."""
    configured = os.environ.get("MAILGW_STATE_DIR")
    if configured:
        return pathlib.Path(configured)
    return pathlib.Path(__file__).resolve().parent.parent / ".lab"


def load_manifest():
    """Read the lab manifest: containers, addresses, networks and users."""
    path = state_dir() / "manifest.json"
    if not path.exists():
        pytest.exit("lab manifest %s not found: converge the lab first "
                    "(make lab, or molecule converge)" % path, returncode=2)
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def lab():
    """The lab manifest: containers, addresses, networks and users."""
    return load_manifest()


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


def network_view(lab, network):
    """Return a trusted network of the manifest with the names the tests
    use: its hosts, zones, mail server name and first domain."""
    view = dict(network)
    view["mail"] = network["mail_server"]
    view["client"] = network["name"] + "-client"
    view["mail_fqdn"] = lab["fqdns"][network["mail_server"]]
    view["domain"] = network["domains"][0]
    view["lan_zone"] = network["name"] + "_lan"
    view["mail_dmz_zone"] = network["name"] + "_mail_dmz"
    # Ports the network's clients may reach on its mail server: submission
    # with implicit TLS and STARTTLS, IMAPS, and what the network opens in
    # addition (POP3S, and IMAP and POP3 with STARTTLS).
    view["user_ports"] = [465, 587, 993] + ([995] if network.get("pop3") else [])
    if network.get("starttls_ports"):
        view["user_ports"] += [143] + ([110] if network.get("pop3") else [])
    return view


@pytest.fixture(scope="session")
def networks(lab):
    """Every trusted network of the lab."""
    return [network_view(lab, network) for network in lab["networks"]]


def pytest_generate_tests(metafunc):
    """Run every test that takes "net" once per trusted network, and every
    test that takes "pair" once per ordered pair of networks."""
    if "net" not in metafunc.fixturenames and "pair" not in metafunc.fixturenames:
        return
    lab = load_manifest()
    views = [network_view(lab, network) for network in lab["networks"]]
    if "net" in metafunc.fixturenames:
        metafunc.parametrize("net", views, ids=[view["name"] for view in views], scope="session")
    if "pair" in metafunc.fixturenames:
        pairs = [(a, b) for a in views for b in views if a is not b]
        metafunc.parametrize("pair", pairs, ids=["%s-to-%s" % (a["name"], b["name"]) for a, b in pairs],
                             scope="session")


@pytest.fixture(scope="session")
def john(net):
    return net["users"][0]


@pytest.fixture(scope="session")
def erika(net):
    return net["users"][1]


def pytest_terminal_summary(terminalreporter):
    """Print one line per checklist item and test group: how many of its
    tests passed and failed. A group with no test run is SKIPPED when
    $MAILGW_SKIP_GROUPS names it, and NOT VERIFIED otherwise."""
    groups = {**CHECKLIST, **OTHER_GROUPS}
    counts = {name: {"passed": 0, "failed": 0} for name in groups}
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if outcome == "passed" and report.when != "call":
                continue
            for name in groups:
                if name in getattr(report, "keywords", {}):
                    counts[name]["passed" if outcome == "passed" else "failed"] += 1
    terminalreporter.section("M 5.116 checklist")
    for name, text in groups.items():
        passed, failed = counts[name]["passed"], counts[name]["failed"]
        if failed:
            verdict = "FAIL"
        elif passed:
            verdict = "PASS"
        elif name in skipped_groups():
            verdict = "SKIPPED"
        else:
            verdict = "NOT VERIFIED"
        terminalreporter.write_line("%-12s %2d passed %2d failed  %s" % (verdict, passed, failed, text))
