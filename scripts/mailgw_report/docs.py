"""Generate docs/requirements.md and docs/requirements.de.md, the mapping
from each requirement to the tests that prove it, and check them."""

from . import descriptions
from .catalogue import REPOSITORY
from .descriptions import TESTS
from .labels import LABELS
from .markers import scan_tests

DOCS = {"en": REPOSITORY / "docs" / "requirements.md", "de": REPOSITORY / "docs" / "requirements.de.md"}


def _cell(value):
    return str(value).replace("|", "\\|")


def _anchor(identifier):
    """Return the heading anchor that GitHub-style Markdown makes for a
    heading that is just the identifier."""
    return "".join(char for char in identifier.lower() if char.isalnum() or char in "-_ ").replace(" ", "-")


def page(catalogue, functions, language, texts):
    """Return the Markdown page of the mapping in one language, with the
    test descriptions of that language, texts ({node id: text})."""
    labels = LABELS[language]
    lines = ["# %s" % labels["docs_title"], "", labels["language_link"], "",
             "<!-- %s -->" % labels["docs_generated"], "", labels["docs_intro"], "",
             "## %s" % labels["docs_overview"], "",
             "| %s | %s | %s | %s |" % (labels["requirement"], labels["title"], labels["source"], labels["docs_count"]),
             "|---|---|---|---|"]
    for requirement in catalogue:
        count = sum(requirement["id"] in function.requirements for function in functions)
        lines.append("| [%s](#%s) | %s | %s | %d |" % (
            requirement["id"], _anchor(requirement["id"]), _cell(requirement["title"][language]),
            _cell(requirement["source"][language]), count))
    lines.append("")
    for requirement in catalogue:
        lines += ["## %s" % requirement["id"], "",
                  "**%s**" % requirement["title"][language], "",
                  requirement["text"][language], "",
                  "%s: %s" % (labels["source"], requirement["source"][language]), ""]
        proving = [function for function in functions if requirement["id"] in function.requirements]
        if not proving:
            lines += [labels["docs_none"], ""]
            continue
        for function in proving:
            text = texts.get(function.node_id)
            lines.append("- `%s`%s" % (function.node_id, ": " + text if text else ""))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def problems(catalogue, functions):
    """Return what is wrong with the markers: tests that name no
    requirement, and identifiers the catalogue does not define."""
    known = {requirement["id"] for requirement in catalogue}
    found = []
    for function in functions:
        if not function.requirements:
            found.append("%s names no requirement: add @pytest.mark.requirement(...)" % function.node_id)
        for identifier in function.requirements:
            if identifier not in known:
                found.append("%s names %s, which requirements/catalogue.yml does not define"
                             % (function.node_id, identifier))
    return found


def pages(catalogue):
    """Return {path: text} of both pages, and the problems of the markers
    and of the English and German test descriptions."""
    functions = scan_tests(TESTS, REPOSITORY)
    german = descriptions.load_german()
    written = {DOCS[language]: page(catalogue, functions, language, descriptions.texts(functions, german, language))
               for language in DOCS}
    return written, (problems(catalogue, functions) + descriptions.english_problems(functions)
                     + descriptions.problems(german, functions))
