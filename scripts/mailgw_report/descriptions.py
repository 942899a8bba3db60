"""Descriptions of the verification tests, in English and German.

The English description of a test is the first paragraph of its docstring
(see markers.py). The code stays English, so the German descriptions are
data in requirements/tests.de.yml, which maps each test function's node id,
such as "tests/test_packet_filter.py::test_lan_smtp_is_dropped_by_filter",
to its text. `scripts/report docs --check` reports what
english_problems() and problems() find, so that no test function ships
without a description in either language.
"""

import pathlib

import yaml

from .catalogue import REPOSITORY
from .markers import scan_tests

TESTS = REPOSITORY / "tests"
GERMAN = REPOSITORY / "requirements" / "tests.de.yml"


class DescriptionError(ValueError):
    """The German description file is missing, not valid YAML or not a mapping."""


def _display(path):
    path = pathlib.Path(path)
    return path.relative_to(REPOSITORY).as_posix() if path.is_relative_to(REPOSITORY) else str(path)


def load_german(path=None):
    """Read requirements/tests.de.yml, or path, and return {node id: text}.
    The texts are returned as written, so that problems() can report empty
    ones."""
    path = path or GERMAN
    try:
        entries = yaml.safe_load(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise DescriptionError("cannot read the German test descriptions %s: %s" % (_display(path), error)) \
            from error
    if entries is None:
        return {}
    if not isinstance(entries, dict):
        raise DescriptionError("%s must map each test, such as tests/test_x.py::test_name, to its German "
                               "description" % _display(path))
    return entries


def english_problems(functions):
    """Return one message per test function with a missing or blank
    docstring. The first paragraph of the docstring is the test's English
    description in the report and in docs/requirements.md."""
    return ["%s has no docstring or a blank one: write a docstring whose first paragraph says what the test "
            "proves, for the English report and docs/requirements.md" % function.node_id
            for function in functions if not function.summary]


def problems(german, functions, path=None):
    """Return one message per test function without a German description,
    per empty description, and per entry that names no test function. path
    is the file that german was read from, for the messages."""
    display_path = _display(path or GERMAN)
    known = {function.node_id for function in functions}
    found = []
    for function in functions:
        if function.node_id not in german:
            found.append('%s has no German description: add "%s: <what the test proves>" to %s'
                         % (function.node_id, function.node_id, display_path))
        elif not isinstance(german[function.node_id], str) or not german[function.node_id].strip():
            found.append("%s has an empty German description in %s: write in German what the test proves"
                         % (function.node_id, display_path))
    for node_id in german:
        if node_id not in known:
            found.append("%s describes %s, which is no test function in tests/: rename the entry after the "
                         "test or remove it" % (display_path, node_id))
    return found


def texts(functions, german, language):
    """Return {node id: description} in one language: the docstring
    summaries for English, the entries of the German file for German.
    Tests without a text are left out."""
    if language == "de":
        return {function.node_id: german[function.node_id].strip() for function in functions
                if isinstance(german.get(function.node_id), str) and german[function.node_id].strip()}
    return {function.node_id: function.summary for function in functions if function.summary}


def for_report(language):
    """Return {node id: description} of the test functions in tests/, in
    one language."""
    functions = scan_tests(TESTS, REPOSITORY)
    german = load_german() if language == "de" else {}
    return texts(functions, german, language)


def node_id(classname, name):
    """Return the node id of a test function, "tests/test_x.py::test_name",
    from the classname and name of its JUnit XML test case.

    pytest writes the classname relative to its rootdir: "tests.test_x" with
    the repository as rootdir, as pytest.ini sets it, and "test_x" in files
    written with tests/ as rootdir. Parameters such as "[agency]" are left
    out. Returns None when the classname names no test_*.py module."""
    parts = classname.split(".")
    modules = [index for index, part in enumerate(parts) if part.startswith("test_")]
    if not modules:
        return None
    path = "/".join(parts[:modules[0] + 1]) + ".py"
    if not path.startswith("tests/"):
        path = "tests/" + path
    return "%s::%s" % (path, name.split("[", 1)[0])
