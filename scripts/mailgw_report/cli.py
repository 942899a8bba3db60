"""Command line of scripts/report: write a scenario's report, or generate
and check the requirement docs."""

import argparse
import json
import pathlib
import subprocess
import sys

from . import catalogue as catalogue_module
from . import descriptions, docs, render, results
from .labels import LABELS

EXIT_FAILED, EXIT_INVALID = 1, 2


def kit_version():
    """Return `git describe` of the repository, or "unknown" outside Git."""
    try:
        described = subprocess.run(
            ["git", "-C", str(catalogue_module.REPOSITORY), "describe", "--always", "--dirty", "--tags"],
            capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return described.stdout.strip() or "unknown"


def _read_manifest(path):
    try:
        return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError("cannot read the lab manifest %s: %s" % (path, error)) from error


def command_render(options):
    """Write the report of one scenario; return the exit code."""
    catalogue = catalogue_module.load(options.catalogue)
    run = results.read_junit(options.junit)
    manifest = _read_manifest(options.manifest)
    verdicts = results.judge(catalogue, run.results)
    unknown = results.unknown_requirements(catalogue, run.results)
    report = render.build(options.scenario, options.lang, options.kit_version or kit_version(), run, verdicts,
                          manifest, unknown, descriptions.for_report(options.lang))
    output = pathlib.Path(options.out or pathlib.Path("report") / options.scenario)
    for path in render.write(report, output):
        print("report: wrote %s" % path)
    labels = LABELS[options.lang]
    for verdict in verdicts:
        print("%-14s %s %s" % (labels["status_" + verdict.status], verdict.requirement["id"],
                               verdict.requirement["title"][options.lang]))
    print(labels["overall_" + report.overall])
    return EXIT_FAILED if report.overall == render.OVERALL_FAIL else 0


def command_docs(options):
    """Write docs/requirements*.md, or with --check compare them; return
    the exit code."""
    catalogue = catalogue_module.load(options.catalogue)
    pages, problems = docs.pages(catalogue)
    for problem in problems:
        print("report docs: %s" % problem, file=sys.stderr)
    stale = []
    for path, text in pages.items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if options.check:
            stale.append(path)
        else:
            path.write_text(text, encoding="utf-8")
            print("report docs: wrote %s" % path)
    for path in stale:
        display_path = path.relative_to(catalogue_module.REPOSITORY) \
            if path.is_relative_to(catalogue_module.REPOSITORY) else path
        print("report docs: %s is out of date with the catalogue, the tests or their German descriptions: "
              "run make report-docs" % display_path, file=sys.stderr)
    return EXIT_FAILED if problems or stale else 0


def parser():
    arguments = argparse.ArgumentParser(
        prog="scripts/report",
        description="Write the verification report of a scenario, or the requirement docs.")
    arguments.add_argument("--catalogue", default=str(catalogue_module.CATALOGUE),
                           help="requirement catalogue (default: requirements/catalogue.yml)")
    commands = arguments.add_subparsers(dest="command", required=True)

    rendering = commands.add_parser(
        "render", help="write report.md, report.html and report.junit.xml from a pytest JUnit XML file",
        description="Judge every requirement of the catalogue from the JUnit XML that pytest wrote for "
                    "tests/, and write the report. Exits 1 when a requirement or a test failed.")
    rendering.add_argument("--junit", required=True, help="JUnit XML written by pytest --junitxml")
    rendering.add_argument("--manifest", required=True, help="lab manifest (manifest.json in MAILGW_STATE_DIR)")
    rendering.add_argument("--scenario", required=True, help="scenario name, used in the title and output path")
    rendering.add_argument("--lang", choices=sorted(LABELS), default="en", help="report language (default: en)")
    rendering.add_argument("--out", help="output directory (default: report/SCENARIO)")
    rendering.add_argument("--kit-version", help="kit version to print (default: git describe)")
    rendering.set_defaults(handler=command_render)

    documenting = commands.add_parser(
        "docs", help="write docs/requirements.md and docs/requirements.de.md",
        description="Write the requirement-to-test mapping from the catalogue, the test markers and the "
                    "test descriptions (docstrings, and requirements/tests.de.yml for German).")
    documenting.add_argument("--check", action="store_true",
                             help="write nothing; exit 1 when a page is out of date, a test marker is wrong, "
                                  "or a test has no docstring or no German description")
    documenting.set_defaults(handler=command_docs)
    return arguments


def main(argv=None):
    options = parser().parse_args(argv)
    try:
        return options.handler(options)
    # CatalogueError, ResultsError and TopologyError are ValueErrors too.
    except (ValueError, OSError) as error:
        print("report: %s" % error, file=sys.stderr)
        return EXIT_INVALID
