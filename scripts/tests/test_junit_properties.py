"""The pytest settings of tests/ keep each test's requirements and evidence
in the JUnit XML, without a warning.

A small pytest session runs in a copy of the repository layout: pytest.ini,
tests/conftest.py, tests/lab.py and the catalogue, plus one sample test. So
pytest finds the settings and the evidence fixture the way it does for
`make report`, and no lab is needed.
"""

import os
import shutil
import subprocess
import sys

from conftest import REPOSITORY
from mailgw_report import results

COPIED = ["pytest.ini", "tests/conftest.py", "tests/lab.py", "requirements/catalogue.yml"]
SAMPLE_TEST = '''
import pytest

import lab


@pytest.mark.requirement("M5.116-1")
def test_sample():
    lab.record("client", "mail.example:587", "TCP connect", "open")
'''
WARNING = "is incompatible with junit_family"


def run_sample_session(root, *options):
    """Run the sample test with --junitxml in a copy of the repository
    layout under root, and return the finished process."""
    for name in COPIED:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPOSITORY / name, root / name)
    (root / "tests" / "test_sample.py").write_text(SAMPLE_TEST, encoding="utf-8")
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("MAILGW_SKIP_GROUPS", "PYTEST_ADDOPTS")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests",
         "--junitxml", str(root / "junit.xml"), *options],
        cwd=root, env=environment, capture_output=True, text=True, timeout=120, check=False)


def test_properties_written_without_warning(tmp_path):
    session = run_sample_session(tmp_path)
    output = session.stdout + session.stderr

    assert session.returncode == 0, output
    assert "configfile: pytest.ini" in output, output
    assert WARNING not in output, output
    assert "warnings summary" not in output, output
    run = results.read_junit(tmp_path / "junit.xml")
    assert [result.test_id for result in run.results] == ["tests.test_sample::test_sample"]
    assert run.results[0].requirements == ["M5.116-1"]
    assert run.results[0].evidence == [{"from": "client", "to": "mail.example:587", "action": "TCP connect",
                                        "result": "open", "count": 1}]


def test_xunit2_family_warns(tmp_path):
    """The warning check can fail: pytest's default family, xunit2, warns
    at every record_property call."""
    session = run_sample_session(tmp_path, "-o", "junit_family=xunit2")
    output = session.stdout + session.stderr

    assert session.returncode == 0, output
    assert "record_property " + WARNING in output, output
