"""The German report translates the recorded evidence actions, and finds
each test's description from its JUnit XML test case."""

import importlib.util
import json
import types

import pytest

from conftest import SCRIPTS
from mailgw_report import descriptions, render
from mailgw_report.labels import translate_action

LAB = SCRIPTS.parent / "tests" / "lab.py"


def load_lab_helpers():
    """Import tests/lab.py, which needs only the standard library, under a
    name of its own."""
    spec = importlib.util.spec_from_file_location("mailgw_lab_helpers", LAB)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeHost:
    """A testinfra host whose every command succeeds with the same output,
    and whose every file exists with that output as its content."""

    backend = types.SimpleNamespace(name="mailgw-agency-client")

    def __init__(self, output):
        self.output = output

    def run(self, command, *arguments):
        return types.SimpleNamespace(rc=0, stdout=self.output, stderr="")

    def file(self, path):
        return types.SimpleNamespace(exists=True, content_string=self.output)


def recorded_actions():
    """Run every helper of tests/lab.py that records evidence, against fake
    hosts, and return the actions it recorded, in order."""
    lab = load_lab_helpers()
    lab.start_evidence()
    lab.probe_ports(FakeHost(json.dumps({"172.29.2.10:25": "filtered"})), "172.29.2.10", [25])
    lab.swaks(FakeHost("<- 250 2.0.0 Ok"), "--server", "mail.agency.example", "--port", "587",
              "--from", "john@agency.example", "--to", "erika@agency.example")
    lab.imap_messages(FakeHost("[]"), "mail.agency.example", "erika@agency.example", "secret", "mailgw-test-1")
    lab.maildir_messages(FakeHost(""), "/home/alice/Maildir", "mailgw-test-1")
    lab.journal(FakeHost(""), 0, "NOQUEUE: reject: RCPT")
    scan = FakeHost(json.dumps([{"id": "TLS1_2", "finding": "offered"}]))
    lab.tls_scan(scan, "172.29.1.10", 25, starttls="smtp")
    lab.tls_scan(scan, "172.29.2.10", 993)
    lab.smtp_dialogue(FakeHost(json.dumps([["EHLO mx.test", 250, "ok"]])), "172.29.1.10", 25,
                      ["EHLO mx.test", "STARTTLS"])
    lab.smtp_dialogue(FakeHost(json.dumps([["EHLO client.test", 250, "ok"]])), "172.29.2.10", 465,
                      ["EHLO client.test"], implicit_tls=True)
    lab.send_counted(FakeHost("2"), "mail.agency.example", 587, "john@agency.example",
                     [("erika@agency.example", "mailgw-test-1-001"), ("erika@agency.example", "mailgw-test-1-002")],
                     user="john@agency.example", password="Secret-1", sessions=2)
    lab.send_counted(FakeHost("1"), "172.29.1.10", 25, "alice@partner.example",
                     [("john@agency.example", "mailgw-test-1-003")])
    lab.imap_subjects(FakeHost("[]"), "mail.agency.example", "john@agency.example", "Secret-1",
                      subject="mailgw-test-1")
    lab.python(FakeHost("OK"), "print('OK')", "mail.agency.example")
    # Fill the record, so that take_evidence adds its "omitted" entry.
    for number in range(lab.MAX_EVIDENCE):
        lab.record("relay", "filler-%d" % number, "TCP connect", "filtered")
    return [entry["action"] for entry in lab.take_evidence() if not entry["to"].startswith("filler-")]


def test_evidence_never_holds_a_password():
    """The helpers that send or read mail with a password record the
    server, the user and the counts, never the password."""
    lab = load_lab_helpers()
    lab.start_evidence()
    lab.send_counted(FakeHost("1"), "mail.agency.example", 587, "john@agency.example",
                     [("erika@agency.example", "mailgw-test-1-001")],
                     user="john@agency.example", password="Secret-1")
    lab.imap_subjects(FakeHost("[]"), "mail.agency.example", "john@agency.example", "Secret-1",
                      subject="mailgw-test-1")
    lab.imap_messages(FakeHost("[]"), "mail.agency.example", "john@agency.example", "Secret-1", "mailgw-test-2")
    evidence = lab.take_evidence()
    assert len(evidence) == 3
    assert "Secret-1" not in json.dumps(evidence)


def test_lab_helper_actions_translated():
    assert recorded_actions() == [
        "TCP connect",
        "SMTP with swaks, from john@agency.example to erika@agency.example",
        "IMAPS login as erika@agency.example, search for mailgw-test-1",
        "look for mailgw-test-1 in the Maildir",
        "search the journal for 'NOQUEUE: reject: RCPT'",
        "TLS scan with testssl (STARTTLS smtp)",
        "TLS scan with testssl",
        "SMTP dialogue: EHLO mx.test, STARTTLS",
        "SMTP dialogue over TLS: EHLO client.test",
        "SMTP with Python, 2 messages in 2 sessions, logged in as john@agency.example",
        "SMTP with Python, 1 messages in 1 sessions",
        "IMAPS login as john@agency.example, search for mailgw-test-1",
        "Python client script",
        "further entries omitted",
    ]
    assert [translate_action(action, "de") for action in recorded_actions()] == [
        "TCP-Verbindungsaufbau",
        "SMTP mit swaks, von john@agency.example an erika@agency.example",
        "IMAPS-Anmeldung als erika@agency.example, Suche nach mailgw-test-1",
        "Suche nach mailgw-test-1 im Maildir",
        "Suche im Journal nach 'NOQUEUE: reject: RCPT'",
        "TLS-Scan mit testssl (STARTTLS smtp)",
        "TLS-Scan mit testssl",
        "SMTP-Dialog: EHLO mx.test, STARTTLS",
        "SMTP-Dialog über TLS: EHLO client.test",
        "SMTP mit Python, 2 Nachrichten in 2 Sitzungen, angemeldet als john@agency.example",
        "SMTP mit Python, 1 Nachrichten in 1 Sitzungen",
        "IMAPS-Anmeldung als john@agency.example, Suche nach mailgw-test-1",
        "Python-Clientskript",
        "weitere Einträge ausgelassen",
    ]


# Actions that need a lab to record: run_site in tests/lab.py runs
# ansible-playbook, tls_handshake is in tests/test_secure_links.py, and the
# repeated scan in tests/test_tls_profiles.py.
@pytest.mark.parametrize("action,german", [
    ("ansible-playbook site.yml , overriding mail_relay_internal_clients",
     "ansible-playbook site.yml, überschreibt mail_relay_internal_clients"),
    ("ansible-playbook site.yml , overriding nothing", "ansible-playbook site.yml, ohne überschriebene Variablen"),
    ("ansible-playbook site.yml --limit relay, overriding nothing",
     "ansible-playbook site.yml --limit relay, ohne überschriebene Variablen"),
    ("ansible-playbook site.yml --limit agency-mail --check --diff, overriding mail_server_users",
     "ansible-playbook site.yml --limit agency-mail --check --diff, überschreibt mail_server_users"),
    ("TLS handshake with openssl, tls1_1 only", "TLS-Handshake mit openssl, nur tls1_1"),
    ("TLS handshake with openssl, tls1 only, STARTTLS smtp", "TLS-Handshake mit openssl, nur tls1, STARTTLS smtp"),
    ("TLS scan with testssl, result of this session's earlier scan",
     "TLS-Scan mit testssl, Ergebnis des früheren Scans in diesem Testlauf"),
])
def test_lab_run_actions_translated(action, german):
    assert translate_action(action, "de") == german


def test_unknown_action_stays_as_recorded():
    assert translate_action("nsupdate of the zone", "de") == "nsupdate of the zone"
    assert translate_action("TCP connect", "en") == "TCP connect"


def test_german_evidence_keeps_results():
    entries = [
        {"from": "mailgw-relay", "to": "journal", "action": "search the journal for 'NOQUEUE'",
         "result": "1 lines found", "count": 2},
        {"from": "controller", "to": "lab inventory", "action": "ansible-playbook site.yml , overriding nothing",
         "result": "exit 2; relay : ok=3 changed=0", "count": 1},
        {"from": "mailgw-relay", "to": "172.29.2.10:25", "action": "TCP connect", "result": "filtered", "count": 1},
        {"from": "mailgw-relay", "to": "172.29.2.10:22", "action": "TCP connect", "result": "filtered", "count": 1},
    ]

    rows = render.compact_evidence(entries, {"containers": {"relay": "mailgw-relay"}}, "de")

    assert rows == [
        {"from": "relay", "to": "Journal", "action": "Suche im Journal nach 'NOQUEUE'",
         "result": "1 lines found (2-mal)"},
        {"from": "Ansible-Steuerknoten", "to": "Lab-Inventar",
         "action": "ansible-playbook site.yml, ohne überschriebene Variablen",
         "result": "exit 2; relay : ok=3 changed=0"},
        {"from": "relay", "to": "172.29.2.10", "action": "TCP-Verbindungsaufbau",
         "result": "25 filtered, 22 filtered"},
    ]


@pytest.mark.parametrize("classname,name,expected", [
    ("tests.test_packet_filter", "test_lan_smtp_is_dropped_by_filter[agency]",
     "tests/test_packet_filter.py::test_lan_smtp_is_dropped_by_filter"),
    ("test_packet_filter", "test_lan_smtp_is_dropped_by_filter",
     "tests/test_packet_filter.py::test_lan_smtp_is_dropped_by_filter"),
    ("tests.test_tls_profiles", "test_only_tls_1_2_and_1_3_offered[relay-smtp]",
     "tests/test_tls_profiles.py::test_only_tls_1_2_and_1_3_offered"),
    ("tests.test_x.TestGroup", "test_case[a[b]]", "tests/test_x.py::test_case"),
    ("", "test_orphan", None),
])
def test_junit_case_maps_to_node_id(classname, name, expected):
    assert descriptions.node_id(classname, name) == expected
