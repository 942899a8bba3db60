"""Every TLS endpoint, scanned with testssl from the zone its clients are
in, meets its TLS profile.

The expected values come from BSI TR-02102-2 and TR-03108, not from the
kit's configuration: profile "bsi" on every internal link and every user
port, profile "opportunistic" on the relay's port 25 towards the internet.
"""

import re

import pytest

from conftest import address_of, load_manifest, network_view
from lab import record, tls_scan, tls_scan_summary

pytestmark = [pytest.mark.secure_links, pytest.mark.requirement("M5.116-3", "TR-02102-2/tls")]

# TLS 1.2 suites of the "bsi" profile, a subset of the TR-02102-2 list:
# ECDHE with AES-GCM or AES-CCM (no CBC, no ChaCha20, no RSA key exchange,
# no SHA-1 MAC).
BSI_TLS12 = {
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-CCM", "ECDHE-ECDSA-AES256-CCM",
    "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
}
# TR-02102-2 suites for TLS 1.3.
BSI_TLS13 = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_AES_128_CCM_SHA256"}
# TR-02102-2 key-exchange groups (OpenSSL names; prime256v1 is secp256r1).
BSI_GROUPS = {
    "prime256v1", "secp384r1", "secp521r1",
    "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1",
    "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192",
}
# What no profile may offer, as parts of OpenSSL suite names.
BROKEN = re.compile(r"NULL|EXP|RC4|DES|MD5|ADH|AECDH|PSK|SRP|IDEA|SEED|CAMELLIA|ARIA")


def endpoints():
    """Every TLS endpoint of the lab: (id, scanning host, target host,
    port, STARTTLS protocol, profile)."""
    lab = load_manifest()
    found = [("relay-smtp", "internet", lab["relay"], 25, "smtp", "opportunistic")]
    for network in lab["networks"]:
        net = network_view(lab, network)
        name, mail, client = net["name"], net["mail"], net["client"]
        found += [
            (name + "-smtp", lab["relay"], mail, 25, "smtp", "bsi"),
            (name + "-submissions", client, mail, 465, None, "bsi"),
            (name + "-submission", client, mail, 587, "smtp", "bsi"),
            (name + "-imaps", client, mail, 993, None, "bsi"),
        ]
        if net.get("pop3"):
            found.append((name + "-pop3s", client, mail, 995, None, "bsi"))
        if net.get("starttls_ports"):
            found.append((name + "-imap-starttls", client, mail, 143, "imap", "bsi"))
            if net.get("pop3"):
                found.append((name + "-pop3-starttls", client, mail, 110, "pop3", "bsi"))
    return found


def pytest_generate_tests(metafunc):
    if "endpoint" in metafunc.fixturenames:
        found = endpoints()
        if "bsi_only" in metafunc.fixturenames:
            found = [entry for entry in found if entry[5] == "bsi"]
        if "opportunistic_only" in metafunc.fixturenames:
            found = [entry for entry in found if entry[5] == "opportunistic"]
        metafunc.parametrize("endpoint", found, ids=[entry[0] for entry in found], scope="module")


@pytest.fixture
def bsi_only():
    """Marks a test that applies to the endpoints with profile "bsi"."""


@pytest.fixture
def opportunistic_only():
    """Marks a test that applies to the endpoints with profile "opportunistic"."""


_SCANS = {}


@pytest.fixture
def scan(lab, hosts, endpoint):
    """The testssl findings of the endpoint, scanned once per session."""
    key, scanner, target, port, starttls, _profile = endpoint
    if key not in _SCANS:
        try:
            _SCANS[key] = tls_scan(hosts[scanner], address_of(lab, target), port, starttls)
        except AssertionError as error:
            _SCANS[key] = error
    elif not isinstance(_SCANS[key], AssertionError):
        record(hosts[scanner], "%s:%d" % (address_of(lab, target), port),
               "TLS scan with testssl, result of this session's earlier scan", tls_scan_summary(_SCANS[key]))
    if isinstance(_SCANS[key], AssertionError):
        raise _SCANS[key]
    return _SCANS[key]


def suites(scan, version):
    """The suites the server accepts for a protocol version, in its order."""
    return scan.get("cipherorder_" + version, "").split()


def groups(scan):
    """The key-exchange groups the server accepts (EC and finite field)."""
    return set(scan.get("PFS_ECDHE_curves", "").split()) | set(scan.get("DH_groups", "").split())


def test_only_tls_1_2_and_1_3_offered(scan):
    """TR-02102-2: TLS 1.2 and 1.3 only; SSL, TLS 1.0 and 1.1 refused."""
    offered = {name for name in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3")
               if scan.get(name, "").startswith("offered")}
    assert offered == {"TLS1_2", "TLS1_3"}, {name: scan.get(name) for name in offered}


def test_tls13_suites_are_bsi_suites(scan):
    """TR-02102-2: TLS 1.3 with AES-GCM or AES-CCM suites only."""
    accepted = suites(scan, "TLSv1_3")
    assert accepted, "no TLS 1.3 suite accepted"
    assert set(accepted) <= BSI_TLS13, set(accepted) - BSI_TLS13


def test_certificate_key_is_strong(scan):
    """TR-02102-2: server keys RSA of 3072 bits or more, or ECDSA of 250
    bits or more."""
    kind, bits = re.match(r"(\w+) (\d+) bits", scan["cert_keySize"]).groups()
    assert (kind == "EC" and int(bits) >= 250) or (kind == "RSA" and int(bits) >= 3072), scan["cert_keySize"]


def test_tls12_suites_are_bsi_suites(scan, bsi_only):
    """Profile bsi: TLS 1.2 with ECDHE and AES-GCM or AES-CCM only, in the
    server's order."""
    accepted = suites(scan, "TLSv1_2")
    assert accepted, "no TLS 1.2 suite accepted"
    assert set(accepted) <= BSI_TLS12, set(accepted) - BSI_TLS12
    assert scan.get("cipher_order") == "server"


def test_groups_are_bsi_groups(scan, bsi_only):
    """Profile bsi: key exchange only with groups of the BSI list (no
    X25519 or X448)."""
    accepted = groups(scan)
    assert accepted, "no key-exchange group found"
    assert accepted <= BSI_GROUPS, accepted - BSI_GROUPS


def test_weaker_suites_come_last(scan, opportunistic_only):
    """Profile opportunistic: the BSI suites first in the server's order,
    weaker ones after them, nothing broken at all."""
    accepted = suites(scan, "TLSv1_2")
    bsi_positions = [index for index, suite in enumerate(accepted) if suite in BSI_TLS12]
    other_positions = [index for index, suite in enumerate(accepted) if suite not in BSI_TLS12]
    assert bsi_positions, "no BSI suite accepted: %s" % accepted
    assert not other_positions or max(bsi_positions) < min(other_positions), accepted
    assert scan.get("cipher_order") == "server"
    assert [suite for suite in accepted if BROKEN.search(suite)] == []


def test_bsi_groups_accepted(scan, opportunistic_only):
    """Profile opportunistic: every BSI group the certificate allows is
    accepted; other groups only in addition."""
    accepted = groups(scan)
    assert {"prime256v1", "secp384r1"} <= accepted, accepted
