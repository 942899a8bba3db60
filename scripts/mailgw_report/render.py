"""Write the report of one scenario as Markdown, HTML and JUnit XML."""

import dataclasses
import datetime
import pathlib
import xml.etree.ElementTree as ElementTree

import jinja2
import markupsafe

from . import descriptions as descriptions_module
from . import topology as topology_module
from .labels import LABELS, format_decimal, translate_action, translate_endpoint, translate_message, translate_result
from .results import FAIL, NOT_VERIFIED, PASS

TEMPLATES = pathlib.Path(__file__).resolve().parent / "templates"
OVERALL_FAIL, OVERALL_PARTIAL, OVERALL_PASS = "fail", "partial", "pass"
# Characters of a test's message that the Markdown report shows. pytest
# shortens a failure message to 500 characters plus a note on what it cut,
# and the note is kept.
MAX_MESSAGE = 600


@dataclasses.dataclass
class Report:
    """Everything one report shows, in one language."""
    scenario: str
    language: str
    kit_version: str
    run: object
    verdicts: list
    topology: object
    svg: str
    manifest: dict
    unmapped: list
    unknown: dict
    written: str
    # {node id: description} of the test functions, in the report language.
    descriptions: dict

    @property
    def labels(self):
        return LABELS[self.language]

    def message(self, result):
        """Return a test's skip reason or failure message in the report
        language."""
        return translate_message(result.message, self.language)

    def decimal(self, value, digits):
        """Return a number with the decimal separator of the report language."""
        return format_decimal(value, digits, self.language)

    def description(self, result):
        """Return what a test proves, in the report language, or "" when
        tests/ has no description of it."""
        return self.descriptions.get(descriptions_module.node_id(result.classname, result.name), "")

    @property
    def overall(self):
        failed_tests = any(result.outcome in ("failed", "error") for result in self.run.results)
        if failed_tests or self.unknown or any(verdict.status == FAIL for verdict in self.verdicts):
            return OVERALL_FAIL
        if any(verdict.status == NOT_VERIFIED for verdict in self.verdicts):
            return OVERALL_PARTIAL
        return OVERALL_PASS


def format_time(value):
    """Return an ISO 8601 time as "YYYY-MM-DD HH:MM:SS" plus its UTC offset."""
    try:
        moment = datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value or "?"
    return moment.strftime("%Y-%m-%d %H:%M:%S %z").strip()


def _container_names(manifest):
    return {container: name for name, container in (manifest.get("containers") or {}).items()}


def compact_evidence(entries, manifest, language):
    """Return evidence rows for display: container names as inventory
    names, consecutive TCP probes from one host to one address merged into
    one row that lists each port with its state, and the actions and the
    results that the kit writes in the report language (RESULTS in
    labels.py). Server replies stay as recorded."""
    labels = LABELS[language]
    names = _container_names(manifest)
    rows = []
    for entry in entries:
        source = names.get(entry.get("from", ""), entry.get("from", ""))
        target, result = entry.get("to", ""), translate_result(entry.get("result", ""), language)
        if entry.get("count", 1) > 1:
            result = "%s (%s)" % (result, labels["repeated"] % entry["count"])
        if entry.get("action") == "TCP connect" and ":" in target:
            address, port = target.rsplit(":", 1)
            last = rows[-1] if rows else None
            if last and last["action"] == "TCP connect" and last["from"] == source and last["to"] == address:
                last["result"] += ", %s %s" % (port, result)
                continue
            rows.append({"from": source, "to": address, "action": "TCP connect", "result": "%s %s" % (port, result)})
            continue
        rows.append({"from": source, "to": target, "action": entry.get("action", ""), "result": result})
    for row in rows:
        row["from"] = translate_endpoint(row["from"], language)
        row["to"] = translate_endpoint(row["to"], language)
        row["action"] = translate_action(row["action"], language)
    return rows


def build(scenario, language, kit_version, run, verdicts, manifest, unknown, descriptions=None):
    """Return the Report of one run, with the topology laid out and drawn.

    descriptions maps node ids to what each test proves, in the report
    language (descriptions.for_report). Without it, the report shows no
    test descriptions."""
    labels = LABELS[language]
    laid_out = topology_module.layout(manifest)
    svg = topology_module.svg(laid_out, manifest, "%s: %s" % (labels["topology"], scenario),
                              labels["packet_filter"])
    unmapped = [result for result in run.results if not result.requirements]
    written = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return Report(scenario, language, kit_version, run, verdicts, laid_out, svg, manifest, unmapped, unknown,
                  written, descriptions or {})


def _cell(value):
    return str(value).replace("|", "\\|").replace("\n", " ")


def _markdown_header(report):
    labels, run = report.labels, report.run
    return [
        "# %s" % labels["report_title"], "",
        "| | |", "|---|---|",
        "| %s | %s |" % (labels["scenario"], _cell(report.scenario)),
        "| %s | %s |" % (labels["kit_version"], _cell(report.kit_version)),
        "| %s | %s |" % (labels["tests_started"], format_time(run.started)),
        "| %s | %s %s |" % (labels["test_duration"], report.decimal(run.seconds, 0), labels["seconds"]),
        "| %s | %s |" % (labels["test_host"], _cell(run.hostname or "?")),
        "| %s | %s |" % (labels["report_written"], format_time(report.written)),
        "| %s | **%s** |" % (labels["overall"], labels["overall_" + report.overall]),
        "",
    ]


def _markdown_summary(report):
    labels = report.labels
    lines = ["## %s" % labels["summary"], "",
             "| %s | %s | %s | %s | %s | %s |" % (labels["requirement"], labels["title"], labels["status"],
                                                  labels["passed"], labels["failed"], labels["skipped"]),
             "|---|---|---|---|---|---|"]
    for verdict in report.verdicts:
        requirement = verdict.requirement
        lines.append("| %s | %s | **%s** | %d | %d | %d |" % (
            requirement["id"], _cell(requirement["title"][report.language]),
            labels["status_" + verdict.status], verdict.count("passed"),
            verdict.count("failed") + verdict.count("error"), verdict.count("skipped")))
    return lines + [""]


def _markdown_details(report):
    labels, language = report.labels, report.language
    lines = ["## %s" % labels["details"], ""]
    for verdict in report.verdicts:
        requirement = verdict.requirement
        lines += ["### %s %s: %s" % (requirement["id"], requirement["title"][language],
                                      labels["status_" + verdict.status]), "",
                  requirement["text"][language], "",
                  "%s: %s" % (labels["source"], requirement["source"][language]), ""]
        if not verdict.results:
            lines += [labels["no_tests"], ""]
            continue
        lines += ["- `%s`: %s" % (result.test_id, labels[result.outcome]) for result in verdict.results]
        lines.append("")
    return lines


def _markdown_topology(report):
    labels = report.labels
    lines = ["## %s" % labels["topology"], "", labels["topology_intro"], "",
             "![%s](topology.svg)" % labels["topology"], "",
             "### %s" % labels["flows"], "", labels["flows_intro"], "",
             "| %s | %s | %s | %s | %s |" % (labels["flow_number"], labels["flow_name"], labels["flow_from"],
                                           labels["flow_to"], labels["flow_ports"]),
             "|---|---|---|---|---|"]
    for flow in report.topology.flows:
        lines.append("| %d | %s | %s | %s | %s |" % (flow.number, _cell(flow.name), _cell(flow.source),
                                                      _cell(flow.target), _cell(flow.ports)))
    return lines + [""]


def _markdown_tests(report):
    labels = report.labels
    lines = ["## %s" % labels["test_section"], "", labels["test_intro"], ""]
    for result in report.run.results:
        lines += ["### `%s`: %s" % (result.test_id, labels[result.outcome]), ""]
        if report.description(result):
            lines += [report.description(result), ""]
        lines += ["%s: %s. %s: %s %s." % (labels["requirements"], ", ".join(result.requirements) or "-",
                                          labels["duration"], report.decimal(result.seconds, 1), labels["seconds"]), ""]
        if result.message:
            lines += ["%s: `%s`" % (labels["message"], _cell(report.message(result))[:MAX_MESSAGE]), ""]
        rows = compact_evidence(result.evidence, report.manifest, report.language)
        if not rows:
            lines += [labels["no_evidence"], ""]
            continue
        lines += ["| %s | %s | %s | %s |" % (labels["evidence_from"], labels["evidence_to"],
                                             labels["evidence_action"], labels["evidence_result"]),
                  "|---|---|---|---|"]
        lines += ["| %s | %s | %s | %s |" % tuple(_cell(row[key]) for key in ("from", "to", "action", "result"))
                  for row in rows]
        lines.append("")
    return lines


def _markdown_problems(report):
    labels = report.labels
    if not report.unmapped and not report.unknown:
        return []
    lines = ["## %s" % labels["problems"], ""]
    if report.unmapped:
        lines += ["%s:" % labels["unmapped_tests"], ""]
        lines += ["- `%s`: %s" % (result.test_id, labels[result.outcome]) for result in report.unmapped]
        lines.append("")
    if report.unknown:
        lines += ["%s:" % labels["unknown_ids"], ""]
        lines += ["- `%s`: %s" % (identifier, ", ".join(tests)) for identifier, tests in report.unknown.items()]
        lines.append("")
    return lines


def markdown(report):
    """Return the report as Markdown; the diagram is topology.svg beside it."""
    lines = (_markdown_header(report) + _markdown_summary(report) + _markdown_problems(report)
             + _markdown_details(report) + _markdown_topology(report) + _markdown_tests(report))
    return "\n".join(lines).rstrip() + "\n"


def html(report):
    """Return the report as one self-contained HTML page."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = environment.get_template("report.html.j2")
    return template.render(report=report, labels=report.labels, svg=markupsafe.Markup(report.svg),
                           format_time=format_time, compact_evidence=compact_evidence,
                           PASS=PASS, FAIL=FAIL, NOT_VERIFIED=NOT_VERIFIED)


def junit(report):
    """Return a JUnit XML document with one test case per requirement: a
    failure when it failed, skipped when it is not verified."""
    labels, language = report.labels, report.language
    suites = ElementTree.Element("testsuites", name="mailgw requirements")
    suite = ElementTree.SubElement(suites, "testsuite", {
        "name": "requirements.%s" % report.scenario,
        "tests": str(len(report.verdicts)),
        "failures": str(sum(verdict.status == FAIL for verdict in report.verdicts)),
        "skipped": str(sum(verdict.status == NOT_VERIFIED for verdict in report.verdicts)),
        "errors": "0",
        "timestamp": report.run.started or report.written,
    })
    properties = ElementTree.SubElement(suite, "properties")
    ElementTree.SubElement(properties, "property", name="kit_version", value=report.kit_version)
    ElementTree.SubElement(properties, "property", name="scenario", value=report.scenario)
    for verdict in report.verdicts:
        requirement = verdict.requirement
        case = ElementTree.SubElement(suite, "testcase", {
            "classname": "requirements.%s" % report.scenario,
            "name": "%s %s" % (requirement["id"], requirement["title"][language]),
            "time": "%.3f" % sum(result.seconds for result in verdict.results),
        })
        tests = "\n".join("%s: %s" % (result.test_id, labels[result.outcome]) for result in verdict.results)
        if verdict.status == FAIL:
            failed = [result.test_id for result in verdict.results if result.outcome in ("failed", "error")]
            ElementTree.SubElement(case, "failure", message="%s: %s" % (labels["failed"], ", ".join(failed))).text = tests
        elif verdict.status == NOT_VERIFIED:
            ElementTree.SubElement(case, "skipped", message=labels["no_tests"])
        else:
            ElementTree.SubElement(case, "system-out").text = tests
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write(report, directory):
    """Write report.md, report.html, report.junit.xml and topology.svg into
    directory; return the paths written."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    outputs = {
        "report.md": markdown(report),
        "report.html": html(report),
        "report.junit.xml": junit(report),
        "topology.svg": report.svg + "\n",
    }
    paths = []
    for name, text in outputs.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
