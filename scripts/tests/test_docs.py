"""scripts/report docs: the requirement-to-test pages and the marker scan."""

import textwrap

import yaml

from mailgw_report import catalogue, cli, descriptions, docs, markers

SAMPLE_TESTS = '''
import pytest

pytestmark = [pytest.mark.secure_links, pytest.mark.requirement("REQ-A")]


@pytest.mark.requirement("REQ-B", "REQ-A")
@pytest.mark.parametrize("port", [465, 587])
def test_marked(port):
    """Submission refuses strangers.

    More text."""


def test_module_only():
    pass


def helper():
    pass
'''


def test_docs_pages_are_current():
    """The committed pages match the catalogue and the test markers; this
    is what make lint checks."""
    assert cli.main(["docs", "--check"]) == 0


def test_stale_page_fails_check(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "requirements.md"
    stale.write_text("# old\n", encoding="utf-8")
    monkeypatch.setitem(docs.DOCS, "en", stale)
    monkeypatch.setitem(docs.DOCS, "de", tmp_path / "requirements.de.md")

    assert cli.main(["docs", "--check"]) == cli.EXIT_FAILED
    assert stale.read_text(encoding="utf-8") == "# old\n"
    assert "is out of date" in capsys.readouterr().err


def test_scan_joins_module_and_function_markers(tmp_path):
    (tmp_path / "test_sample.py").write_text(SAMPLE_TESTS, encoding="utf-8")

    found = markers.scan_tests(tmp_path, tmp_path)

    assert [(test.name, test.requirements) for test in found] == [
        ("test_marked", ["REQ-A", "REQ-B"]),
        ("test_module_only", ["REQ-A"]),
    ]
    assert found[0].summary == "Submission refuses strangers."
    assert found[0].node_id == "test_sample.py::test_marked"


def test_unmarked_and_unknown_markers_reported(tmp_path):
    (tmp_path / "test_sample.py").write_text(textwrap.dedent('''
        import pytest

        def test_unmarked():
            pass

        @pytest.mark.requirement("M5.116-1", "M9.999")
        def test_unknown():
            pass
        '''), encoding="utf-8")

    found = docs.problems(catalogue.load(), markers.scan_tests(tmp_path, tmp_path))

    assert found == [
        "test_sample.py::test_unmarked names no requirement: add @pytest.mark.requirement(...)",
        "test_sample.py::test_unknown names M9.999, which requirements/catalogue.yml does not define",
    ]


def test_german_page_uses_german_texts():
    pages, _problems = docs.pages(catalogue.load())
    german = pages[docs.DOCS["de"]]

    assert german.startswith("# Anforderungen und die Tests, die sie nachweisen")
    assert "**Netztrennung in Zonen**" in german
    assert "Quelle: BSI IT-Grundschutz M 5.116, Frage 3 der Checkliste" in german
    assert "Network separation into zones" not in german


def test_every_test_function_has_a_requirement():
    pages, problems = docs.pages(catalogue.load())

    assert problems == []


def test_german_page_uses_german_descriptions():
    pages, _problems = docs.pages(catalogue.load())
    german, english = pages[docs.DOCS["de"]], pages[docs.DOCS["en"]]
    node_id = "tests/test_packet_filter.py::test_lan_smtp_is_dropped_by_filter"

    assert "- `%s`: Postfix lauscht auf Port 25 des Mailservers, doch ein Verbindungsaufbau" % node_id in german
    assert "Port 25 listens on the mail server" not in german
    assert "- `%s`: Port 25 listens on the mail server, so a timeout proves the filter." % node_id in english


def test_every_test_function_has_german_description():
    functions = markers.scan_tests(descriptions.TESTS, catalogue.REPOSITORY)
    german = descriptions.load_german()

    assert descriptions.problems(german, functions) == []
    assert sorted(german) == sorted(function.node_id for function in functions)


def test_missing_docstrings_named(tmp_path):
    (tmp_path / "test_sample.py").write_text(SAMPLE_TESTS + textwrap.dedent('''

        def test_blank_docstring():
            """   """
        '''), encoding="utf-8")
    functions = markers.scan_tests(tmp_path, tmp_path)

    found = descriptions.english_problems(functions)

    assert found == [
        "test_sample.py::test_module_only has no docstring or a blank one: write a docstring whose first "
        "paragraph says what the test proves, for the English report and docs/requirements.md",
        "test_sample.py::test_blank_docstring has no docstring or a blank one: write a docstring whose first "
        "paragraph says what the test proves, for the English report and docs/requirements.md",
    ]


def test_missing_docstring_fails_check(monkeypatch, capsys):
    node_id = "tests/test_secrets.py::test_relay_key_is_private"
    scan_tests = docs.scan_tests

    def scan_without_docstring(directory, root):
        functions = scan_tests(directory, root)
        for function in functions:
            if function.node_id == node_id:
                function.summary = ""
        return functions

    monkeypatch.setattr(docs, "scan_tests", scan_without_docstring)

    assert cli.main(["docs", "--check"]) == cli.EXIT_FAILED
    errors = capsys.readouterr().err
    assert "report docs: %s has no docstring or a blank one: write a docstring whose first paragraph says " \
        "what the test proves, for the English report and docs/requirements.md" % node_id in errors
    assert "docs/requirements.md is out of date" in errors


def test_german_description_problems_named(tmp_path):
    (tmp_path / "test_sample.py").write_text(SAMPLE_TESTS, encoding="utf-8")
    functions = markers.scan_tests(tmp_path, tmp_path)
    german = {"test_sample.py::test_marked": "  ", "test_sample.py::test_renamed": "Ein Text."}

    found = descriptions.problems(german, functions, tmp_path / "tests.de.yml")

    assert found == [
        "test_sample.py::test_marked has an empty German description in %s/tests.de.yml: write in German what "
        "the test proves" % tmp_path,
        'test_sample.py::test_module_only has no German description: add "test_sample.py::test_module_only: '
        '<what the test proves>" to %s/tests.de.yml' % tmp_path,
        "%s/tests.de.yml describes test_sample.py::test_renamed, which is no test function in tests/: rename the "
        "entry after the test or remove it" % tmp_path,
    ]


def test_missing_german_description_fails_check(tmp_path, monkeypatch, capsys):
    german = descriptions.load_german()
    del german["tests/test_secrets.py::test_relay_key_is_private"]
    incomplete = tmp_path / "tests.de.yml"
    incomplete.write_text(yaml.safe_dump(german, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(descriptions, "GERMAN", incomplete)

    assert cli.main(["docs", "--check"]) == cli.EXIT_FAILED
    errors = capsys.readouterr().err
    assert "report docs: tests/test_secrets.py::test_relay_key_is_private has no German description: add " \
        '"tests/test_secrets.py::test_relay_key_is_private: <what the test proves>" to %s' % incomplete in errors
    assert "docs/requirements.de.md is out of date" in errors


def test_german_descriptions_not_a_mapping_is_invalid(tmp_path, monkeypatch, capsys):
    listed = tmp_path / "tests.de.yml"
    listed.write_text("- tests/test_secrets.py::test_relay_key_is_private\n", encoding="utf-8")
    monkeypatch.setattr(descriptions, "GERMAN", listed)

    assert cli.main(["docs", "--check"]) == cli.EXIT_INVALID
    assert "must map each test, such as tests/test_x.py::test_name, to its German description" \
        in capsys.readouterr().err
