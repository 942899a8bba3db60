"""The report finds each test's description from its JUnit XML test case."""

import pytest

from mailgw_report import descriptions


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
