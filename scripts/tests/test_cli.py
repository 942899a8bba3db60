"""scripts/report render: outputs, languages and exit codes."""

import json
import re
import xml.etree.ElementTree as ElementTree

from conftest import write_junit
from mailgw_report import cli, render


def render_report(junit, manifest, out, *extra):
    return cli.main(["render", "--junit", str(junit), "--manifest", str(manifest), "--scenario", "fixture",
                     "--out", str(out), "--kit-version", "v-test", *extra])


def read_report(out):
    """Return the Markdown and the HTML text of the report in out."""
    return (out / "report.md").read_text(encoding="utf-8"), (out / "report.html").read_text(encoding="utf-8")


def test_failed_requirement_exits_nonzero(tmp_path, junit_path, manifest_path):
    code = render_report(junit_path, manifest_path, tmp_path)

    assert code == cli.EXIT_FAILED
    for name in ("report.md", "report.html", "report.junit.xml", "topology.svg"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_all_passed_exits_zero(tmp_path, manifest_path):
    junit = write_junit(tmp_path / "junit.xml", [{"name": "test_one", "requirements": ["M5.116-1"]}])

    code = render_report(junit, manifest_path, tmp_path / "out")

    assert code == 0
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "PASSED WITH GAPS" in markdown
    assert "| M5.116-1 | Mail server protected by a packet filter against the internal network | **PASS** |" \
        in markdown
    assert "| NET.1.1.A4 | Network separation into zones | **NOT VERIFIED** |" in markdown


def test_failed_test_without_requirement_fails(tmp_path, manifest_path):
    junit = write_junit(tmp_path / "junit.xml", [
        {"name": "test_one", "requirements": ["M5.116-1"]},
        {"name": "test_unmarked", "requirements": None, "outcome": "failed"},
    ])

    code = render_report(junit, manifest_path, tmp_path / "out")

    assert code == cli.EXIT_FAILED
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "- `test_sample::test_unmarked`: failed" in markdown


def test_unknown_identifier_fails(tmp_path, manifest_path):
    junit = write_junit(tmp_path / "junit.xml", [{"name": "test_one", "requirements": ["M5.116-1", "M9.999"]}])

    assert render_report(junit, manifest_path, tmp_path / "out") == cli.EXIT_FAILED
    assert "- `M9.999`: test_sample::test_one" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_german_report_uses_german_texts(tmp_path, junit_path, manifest_path):
    render_report(junit_path, manifest_path, tmp_path, "--lang", "de")

    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert markdown.startswith("# Prüfbericht: Mail-Gateway nach M 5.116")
    assert "| NET.1.1.A4 | Netztrennung in Zonen | **NICHT GEPRÜFT** |" in markdown
    assert "| M5.116-3 | Jede Verbindung zum Mailserver erfüllt die Sicherheitsanforderungen | **NICHT ERFÜLLT** |" \
        in markdown
    assert "Quelle: BSI IT-Grundschutz M 5.116, Frage 1 der Checkliste" in markdown
    assert "Network separation into zones" not in markdown
    assert '<html lang="de">' in page
    assert "Mailserver durch einen Paketfilter gegen das interne Netz geschützt" in page


def test_german_report_shows_german_descriptions(tmp_path, junit_path, manifest_path):
    render_report(junit_path, manifest_path, tmp_path, "--lang", "de")

    markdown, page = read_report(tmp_path)
    description = "Ein Client im LAN erreicht auf dem internen Mailserver nur die Ports für die Einlieferung"
    assert "### `test_packet_filter::test_client_reaches_only_mailbox_ports[agency]`: bestanden\n\n%s" \
        % description in markdown
    assert '<p class="description">%s' % description in page
    for text in (markdown, page):
        assert "From the LAN only submission" not in text


def test_english_report_shows_docstring_summaries(tmp_path, junit_path, manifest_path):
    render_report(junit_path, manifest_path, tmp_path)

    markdown, page = read_report(tmp_path)
    summary = "From the LAN only submission and IMAPS (POP3S and the STARTTLS ports when the network opens them) " \
        "accept connections."
    assert "### `test_packet_filter::test_client_reaches_only_mailbox_ports[agency]`: passed\n\n%s\n" % summary \
        in markdown
    assert '<p class="description">%s</p>' % summary in page


def test_german_report_translates_evidence(tmp_path, junit_path, manifest_path):
    render_report(junit_path, manifest_path, tmp_path, "--lang", "de")

    markdown, page = read_report(tmp_path)
    for text in (markdown, page):
        assert "TCP connect" not in text
        assert "SMTP with swaks" not in text
    assert "| agency-client | 172.29.2.10 | TCP-Verbindungsaufbau | 465 offen, 587 offen, 993 offen, 25 gefiltert, " \
        "22 gefiltert |" in markdown
    assert "| internet | mx.gateway.example:25 | SMTP mit swaks, von alice@partner.example an " \
        "victim@elsewhere.example | 554 5.7.1 <victim@elsewhere.example>: Relay access denied |" in markdown
    assert "| relay | Journal | Suche im Journal nach 'erika' | 0 Zeilen gefunden |" in markdown
    assert "Suche nach mailgw-test-1a2b | 0 Nachrichten gefunden (3-mal) |" in markdown
    assert "<td>TLS-Handshake mit openssl, nur tls1, STARTTLS smtp</td>" in page
    assert "<td>angenommen</td>" in page


def test_german_report_uses_decimal_comma(tmp_path, junit_path, manifest_path):
    render_report(junit_path, manifest_path, tmp_path, "--lang", "de")

    markdown, page = read_report(tmp_path)
    assert "| Dauer der Tests | 14 s |" in markdown
    for text in (markdown, page):
        assert "Dauer: 1,2 s." in text
        assert "Dauer: 1.2 s." not in text


def test_english_report_uses_decimal_point(tmp_path, junit_path, manifest_path):
    render_report(junit_path, manifest_path, tmp_path)

    markdown, page = read_report(tmp_path)
    for text in (markdown, page):
        assert "Duration: 1.2 s." in text


def test_german_report_explains_flow_names(tmp_path, junit_path, manifest_path):
    render_report(junit_path, manifest_path, tmp_path, "--lang", "de")

    markdown, page = read_report(tmp_path)
    diagram = (tmp_path / "topology.svg").read_text(encoding="utf-8")
    sentence = "Die Flussnamen bleiben englisch, weil sie die Regelnamen im nftables-Regelsatz der Paketfilter sind"
    assert "### Erlaubte Flüsse\n\n%s" % sentence in markdown
    assert "<h3>Erlaubte Flüsse</h3>\n<p>%s" % sentence in page
    assert "| 2 | relay to internet smtp | gateway_dmz (172.29.1.10) | internet | tcp 25 |" in markdown
    assert ">Paketfilter</text>" in diagram
    assert ">packet filter</text>" not in diagram


def test_junit_has_case_per_requirement(tmp_path, junit_path, manifest_path):
    render_report(junit_path, manifest_path, tmp_path)

    suite = ElementTree.parse(tmp_path / "report.junit.xml").getroot().find("testsuite")
    cases = {case.get("name").split(" ")[0]: case for case in suite.iter("testcase")}
    assert cases["M5.116-3"].find("failure") is not None
    assert cases["NET.1.1.A4"].find("skipped") is not None
    assert cases["M5.116-1"].find("failure") is None
    assert cases["M5.116-1"].find("skipped") is None
    assert suite.get("failures") == "2"


def test_evidence_is_shown_per_test(tmp_path, junit_path, manifest_path):
    render_report(junit_path, manifest_path, tmp_path)

    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| agency-client | 172.29.2.10 | TCP connect | 465 open, 587 open, 993 open, 25 filtered, 22 filtered |" \
        in markdown
    assert "| internet | mx.gateway.example:25 | SMTP with swaks, from alice@partner.example to " \
        "victim@elsewhere.example | 554 5.7.1 <victim@elsewhere.example>: Relay access denied |" in markdown
    assert "| agency-client | mail.agency.example:993 | IMAPS login as erika.mustermann@agency.example, " \
        "search for mailgw-test-1a2b | 0 messages found (3 times) |" in markdown
    assert "Kit version | v-test" in markdown


def test_html_page_is_self_contained(tmp_path, junit_path, manifest_path):
    render_report(junit_path, manifest_path, tmp_path)

    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page
    assert "@media print" in page
    assert not re.search(r"<(script|link|img|iframe)\b", page)
    assert not re.search(r"url\((?!#)", page)
    assert not re.search(r"(src|href)=\"(https?:)?//", page)


def test_manifest_without_flows_gets_derived_flows(tmp_path, junit_path, manifest_path):
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    del manifest["flows"]
    older = tmp_path / "manifest.json"
    older.write_text(json.dumps(manifest), encoding="utf-8")

    render_report(junit_path, older, tmp_path / "out")

    flows = [line for line in (tmp_path / "out" / "report.md").read_text(encoding="utf-8").splitlines()
             if re.match(r"\| \d+ \| ", line)]
    assert "| 1 | internet to relay smtp | internet | gateway_dmz (172.29.1.10) | tcp 25 |" in flows
    clients = [line for line in flows if "agency clients to mail server" in line]
    assert len(clients) == 1, flows
    assert "tcp 465, 587, 993, 995, 143, 110" in clients[0]


def test_missing_junit_is_invalid_input(tmp_path, manifest_path, capsys):
    code = render_report(tmp_path / "absent.xml", manifest_path, tmp_path)

    assert code == cli.EXIT_INVALID
    assert "cannot read the JUnit XML" in capsys.readouterr().err


def test_evidence_merges_probes_per_address():
    entries = [
        {"from": "mailgw-relay", "to": "172.29.3.10:22", "action": "TCP connect", "result": "filtered", "count": 1},
        {"from": "mailgw-relay", "to": "172.29.3.10:25", "action": "TCP connect", "result": "filtered", "count": 1},
        {"from": "mailgw-relay", "to": "172.29.3.11:25", "action": "TCP connect", "result": "open", "count": 1},
    ]
    manifest = {"containers": {"relay": "mailgw-relay"}}

    rows = render.compact_evidence(entries, manifest, "en")

    assert rows == [
        {"from": "relay", "to": "172.29.3.10", "action": "TCP connect", "result": "22 filtered, 25 filtered"},
        {"from": "relay", "to": "172.29.3.11", "action": "TCP connect", "result": "25 open"},
    ]

