"""scripts/report docs: the requirement-to-test pages and the marker scan."""

import textwrap

from mailgw_report import catalogue, cli, docs, markers

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
