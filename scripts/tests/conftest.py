"""Fixtures for the tests of scripts/report: the sample JUnit XML and lab
manifest in fixtures/, a writer for JUnit XML of other cases, and a builder
of lab manifests with any number of trusted networks."""

import importlib.util
import json
import pathlib
import sys
import xml.etree.ElementTree as ElementTree

import pytest

SCRIPTS = pathlib.Path(__file__).resolve().parent.parent
REPOSITORY = SCRIPTS.parent
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(SCRIPTS))


@pytest.fixture
def junit_path():
    """A JUnit XML with passed, failed and skipped tests of the lab."""
    return FIXTURES / "junit.xml"


@pytest.fixture
def manifest_path():
    """A lab manifest with one trusted network and its flows."""
    return FIXTURES / "manifest.json"


def write_junit(path, cases):
    """Write a pytest-like JUnit XML file. Each case is a dict with name,
    requirements (a list) and optionally outcome ("failed", "error",
    "skipped") and evidence (a list of entries)."""
    suites = ElementTree.Element("testsuites", name="pytest tests")
    suite = ElementTree.SubElement(suites, "testsuite", name="pytest", timestamp="2026-12-01T10:00:00+00:00",
                                   hostname="test", time="1.0", tests=str(len(cases)))
    for case in cases:
        element = ElementTree.SubElement(suite, "testcase", classname="test_sample", name=case["name"], time="0.5")
        properties = ElementTree.SubElement(element, "properties")
        if case.get("requirements") is not None:
            ElementTree.SubElement(properties, "property", name="requirements",
                                   value=" ".join(case["requirements"]))
        ElementTree.SubElement(properties, "property", name="evidence", value=json.dumps(case.get("evidence", [])))
        outcome = case.get("outcome")
        if outcome == "failed":
            ElementTree.SubElement(element, "failure", message="assert False")
        elif outcome == "error":
            ElementTree.SubElement(element, "error", message="fixture teardown failed")
        elif outcome == "skipped":
            ElementTree.SubElement(element, "skipped", message="not applicable")
    ElementTree.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lab_manifest(networks):
    """Return the topology part of the lab manifest with that many trusted
    networks, as playbooks/lab/manifest.yml writes it: from the lab
    inventory (inventories/lab/hosts.py) and the filters that derive zones
    and flows (plugins/filter/topology.py, which needs Ansible)."""
    inventory = _load_module("mailgw_lab_inventory", REPOSITORY / "inventories" / "lab" / "hosts.py")
    filters = _load_module("mailgw_topology_filters", REPOSITORY / "plugins" / "filter" / "topology.py")
    built = inventory.build(networks)
    hostvars, variables = built["_meta"]["hostvars"], built["all"]["vars"]
    return {
        "containers": {host: "mailgw-" + host for host in hostvars},
        "addresses": {host: values["topology_interfaces"] for host, values in hostvars.items()},
        "fqdns": {host: values.get("topology_fqdn", "") for host, values in hostvars.items()},
        "zones": filters.topology_zones(variables["topology_networks"], variables["topology_internet"],
                                        variables["topology_gateway_dmz"]),
        "flows": filters.topology_flows(variables["topology_networks"], hostvars, variables["topology_relay"],
                                        variables["topology_dns_servers"]),
        "networks": variables["topology_networks"],
        "relay": variables["topology_relay"],
    }
