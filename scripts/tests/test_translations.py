"""The German report translates the recorded evidence actions and the
results that the kit writes, the skip reasons and decimal numbers, and
finds each test's description from its JUnit XML test case."""

import importlib.util
import json
import re
import types

import pytest

from conftest import SCRIPTS
from mailgw_report import descriptions, render
from mailgw_report.labels import format_decimal, translate_action, translate_message, translate_result

LAB = SCRIPTS.parent / "tests" / "lab.py"


def load_lab_helpers():
    """Import tests/lab.py, which needs only the standard library, under a
    name of its own."""
    spec = importlib.util.spec_from_file_location("mailgw_lab_helpers", LAB)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeHost:
    """A testinfra host whose every command ends with the same exit code
    and output, and whose every file exists with that output as its
    content."""

    backend = types.SimpleNamespace(name="mailgw-agency-client")

    def __init__(self, output, rc=0):
        self.output = output
        self.rc = rc

    def run(self, command, *arguments):
        return types.SimpleNamespace(rc=self.rc, stdout=self.output, stderr="")

    def file(self, path):
        return types.SimpleNamespace(exists=True, content_string=self.output)


def recorded_evidence():
    """Run every helper of tests/lab.py that records evidence, against fake
    hosts, and return the entries it recorded, in order."""
    lab = load_lab_helpers()
    lab.start_evidence()
    lab.probe_ports(FakeHost(json.dumps({"172.29.2.10:25": "filtered", "172.29.2.10:587": "open",
                                         "172.29.2.10:110": "closed",
                                         "172.29.2.10:143": "error: [Errno 113] No route to host"})),
                    "172.29.2.10", [25, 587, 110, 143])

    lab.swaks(FakeHost("<- 250 2.0.0 Ok"), "--server", "mail.agency.example", "--port", "587",
              "--from", "john@agency.example", "--to", "erika@agency.example")
    lab.swaks(FakeHost(""), "--server", "mail.agency.example", "--from", "john@agency.example",
              "--to", "erika@agency.example")

    lab.imap_messages(FakeHost("[]"), "mail.agency.example", "erika@agency.example", "secret", "mailgw-test-1")
    lab.imap_messages(FakeHost('["message"]'), "mail.agency.example", "erika@agency.example", "secret",
                      "mailgw-test-1")
    lab.maildir_messages(FakeHost(""), "/home/alice/Maildir", "mailgw-test-1")
    lab.maildir_messages(FakeHost("Subject: mailgw-test-1"), "/home/alice/Maildir", "mailgw-test-1")
    lab.journal(FakeHost(""), 0, "NOQUEUE: reject: RCPT")
    lab.journal(FakeHost("one\ntwo\n"), 0, "NOQUEUE: reject: RCPT")

    scan = FakeHost(json.dumps([{"id": "TLS1_2", "finding": "offered"},
                                {"id": "TLS1_3", "finding": "offered with final"},
                                {"id": "cipher_order", "finding": "server"},
                                {"id": "cert_keySize", "finding": "EC 256 bits"}]))
    lab.tls_scan(scan, "172.29.1.10", 25, starttls="smtp")
    lab.tls_scan(FakeHost(json.dumps([{"id": "TLS1_2", "finding": "offered"}])), "172.29.2.10", 993)

    lab.smtp_dialogue(FakeHost(json.dumps([["EHLO mx.test", 250, "ok"]])), "172.29.1.10", 25,
                      ["EHLO mx.test", "STARTTLS"])
    lab.smtp_dialogue(FakeHost(json.dumps([["EHLO client.test", 250, "ok"]])), "172.29.2.10", 465,
                      ["EHLO client.test"], implicit_tls=True)
    lab.smtp_dialogue(FakeHost("[]"), "172.29.1.10", 25, ["EHLO mx.test"])

    lab.send_counted(FakeHost("2"), "mail.agency.example", 587, "john@agency.example",
                     [("erika@agency.example", "mailgw-test-1-001"), ("erika@agency.example", "mailgw-test-1-002")],
                     user="john@agency.example", password="Secret-1", sessions=2)
    lab.send_counted(FakeHost("1"), "172.29.1.10", 25, "alice@partner.example",
                     [("john@agency.example", "mailgw-test-1-003")])
    with pytest.raises(AssertionError):
        lab.send_counted(FakeHost("", rc=1), "172.29.1.10", 25, "alice@partner.example",
                         [("john@agency.example", "mailgw-test-1-004")])

    lab.imap_subjects(FakeHost("[]"), "mail.agency.example", "john@agency.example", "Secret-1",
                      subject="mailgw-test-1")
    lab.python(FakeHost("OK"), "print('OK')", "mail.agency.example")
    lab.python(FakeHost("rejected"), "print('rejected')", "mail.agency.example")
    lab.python(FakeHost("open=0 refused=0 filtered=432"), "print()", "172.29.1.10", 25)

    # Fill the record, so that take_evidence adds its "omitted" entry.
    for number in range(lab.MAX_EVIDENCE + 2):
        lab.record("relay", "filler-%d" % number, "TCP connect", "filtered")
    return [entry for entry in lab.take_evidence() if not entry["to"].startswith("filler-")]


def recorded_actions():
    """Return the distinct actions of recorded_evidence, in order."""
    actions = []
    for entry in recorded_evidence():
        if entry["action"] not in actions:
            actions.append(entry["action"])
    return actions


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
        "SMTP dialogue: EHLO mx.test",
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
        "SMTP-Dialog: EHLO mx.test",
        "SMTP mit Python, 2 Nachrichten in 2 Sitzungen, angemeldet als john@agency.example",
        "SMTP mit Python, 1 Nachrichten in 1 Sitzungen",
        "IMAPS-Anmeldung als john@agency.example, Suche nach mailgw-test-1",
        "Python-Clientskript",
        "weitere Einträge ausgelassen",
    ]


def test_lab_helper_results_translated():
    results = [entry["result"] for entry in recorded_evidence()]
    assert results == [
        "filtered",
        "open",
        "closed",
        "error: [Errno 113] No route to host",
        "250 2.0.0 Ok",
        "no reply",
        "0 messages found",
        "1 messages found",
        "not found",
        "found",
        "0 lines found",
        "2 lines found",
        "offered: TLS1_2, TLS1_3; suite order: server; key: EC 256 bits",
        "offered: TLS1_2",
        "250 ok",
        "250 ok",
        "no reply",
        "2 accepted",
        "1 accepted",
        "exit 1 accepted",
        "0 messages found",
        "exit 0: OK",
        "exit 0: rejected",
        "exit 0: open=0 refused=0 filtered=432",
        "26 more entries",
    ]
    assert [translate_result(result, "de") for result in results] == [
        "gefiltert",
        "offen",
        "geschlossen",
        "Fehler: [Errno 113] No route to host",
        "250 2.0.0 Ok",
        "keine Antwort",
        "0 Nachrichten gefunden",
        "1 Nachricht gefunden",
        "nicht gefunden",
        "gefunden",
        "0 Zeilen gefunden",
        "2 Zeilen gefunden",
        "angeboten: TLS1_2, TLS1_3; Reihenfolge der Suites: vom Server bestimmt; Schlüssel: EC 256 Bit",
        "angeboten: TLS1_2",
        "250 ok",
        "250 ok",
        "keine Antwort",
        "2 angenommen",
        "1 angenommen",
        "Exit-Code 1, Zahl der angenommenen Nachrichten unbekannt",
        "0 Nachrichten gefunden",
        "Exit-Code 0: OK",
        "Exit-Code 0: abgelehnt",
        "Exit-Code 0: offen=0 abgewiesen=0 gefiltert=432",
        "26 weitere Einträge",
    ]


# Results that need a lab to record: run_site, tls_handshake in
# tests/test_secure_links.py, and testssl findings other than those above.
@pytest.mark.parametrize("result,german", [
    ("exit 2; relay : ok=3 changed=0 unreachable=0 failed=1",
     "Exit-Code 2; relay : ok=3 changed=0 unreachable=0 failed=1"),
    ("exit 4;", "Exit-Code 4;"),
    ("exit 1:", "Exit-Code 1:"),
    ("accepted", "angenommen"),
    ("refused", "abgelehnt"),
    ("offered: none", "angeboten: keine"),
    ("offered: TLS1_2; key: RSA 3072 bits", "angeboten: TLS1_2; Schlüssel: RSA 3072 Bit"),
    ("offered: TLS1_3; suite order: NOT a cipher order configured",
     "angeboten: TLS1_3; Reihenfolge der Suites: NOT a cipher order configured"),
    ("exit 0: a NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.",
     "Exit-Code 0: a NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."),
])
def test_lab_run_results_translated(result, german):
    assert translate_result(result, "de") == german


def test_server_replies_stay_as_recorded():
    for reply in ("554 5.7.1 <victim@elsewhere.example>: Relay access denied", "250 2.0.0 Ok: queued as 4F2A1",
                  "0 disconnected: Connection unexpectedly closed", "open=0"):
        assert translate_result(reply, "de") == reply
    assert translate_result("1 messages found", "en") == "1 messages found"


@pytest.mark.parametrize("message,german", [
    ("no network was removed from this lab", "aus diesem Lab wurde kein Netz entfernt"),
    ("got empty parameter set for (pair)",
     "das Szenario hat kein Paar von Netzen, zwischen denen Mail zu prüfen ist, "
     "etwa weil es nur ein vertrauenswürdiges Netz hat"),
    ("got empty parameter set for (net, role)",
     "das Szenario hat keinen Fall für die Parameter (net, role) dieses Tests"),
    ("network partner declares no gateway to another mail system",
     "das Netz partner nennt kein Gateway zu einem anderen Mailsystem"),
    ("this network keeps port 143 closed (test_plain_ports_closed_unless_opened)",
     "dieses Netz hält Port 143 geschlossen (test_plain_ports_closed_unless_opened)"),
    ("MAILGW_SKIP_GROUPS contains faults", "MAILGW_SKIP_GROUPS enthält faults"),
    ("AssertionError: assert 1 == 0\n  + one\n[+3 more lines; full report in element text]",
     "AssertionError: assert 1 == 0\n  + one\n[+3 weitere Zeilen; vollständige Meldung in der JUnit-XML-Datei "
     "von pytest]"),
    ("AssertionError: x\n[+1 more line; full report in element text]",
     "AssertionError: x\n[+1 weitere Zeile; vollständige Meldung in der JUnit-XML-Datei von pytest]"),
    ("AssertionError: xxx...\n[truncated; full report in element text]",
     "AssertionError: xxx...\n[gekürzt; vollständige Meldung in der JUnit-XML-Datei von pytest]"),
    ("AssertionError: relay:25 accepted tls1", "AssertionError: relay:25 accepted tls1"),
])
def test_messages_translated(message, german):
    assert translate_message(message, "de") == german


def test_kit_skip_reasons_translated():
    """Every skip reason that tests/ writes as a plain string has a German
    form, so rewording one fails here."""
    reasons = []
    for path in (SCRIPTS.parent / "tests").glob("*.py"):
        reasons += re.findall(r'pytest\.skip\("([^"%]*)"\)', path.read_text(encoding="utf-8"))
    assert "no network was removed from this lab" in reasons
    for reason in reasons:
        assert translate_message(reason, "de") != reason


def test_english_messages_stay_as_recorded():
    message = "AssertionError: x\n[+3 more lines; full report in element text]"
    assert translate_message(message, "en") == message
    assert translate_message("no network was removed from this lab", "en") == "no network was removed from this lab"


@pytest.mark.parametrize("value,digits,language,text", [
    (1.04, 1, "de", "1,0"),
    (1.04, 1, "en", "1.0"),
    (962.4, 0, "de", "962"),
    (0.25, 3, "de", "0,250"),
])
def test_decimal_separator_per_language(value, digits, language, text):
    assert format_decimal(value, digits, language) == text


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


def test_german_evidence_translates_results():
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
         "result": "1 Zeile gefunden (2-mal)"},
        {"from": "Ansible-Steuerknoten", "to": "Lab-Inventar",
         "action": "ansible-playbook site.yml, ohne überschriebene Variablen",
         "result": "Exit-Code 2; relay : ok=3 changed=0"},
        {"from": "relay", "to": "172.29.2.10", "action": "TCP-Verbindungsaufbau",
         "result": "25 gefiltert, 22 gefiltert"},
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
