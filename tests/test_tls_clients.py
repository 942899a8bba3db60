"""Every SMTP client side offers only what its TLS profile allows.

A capture server takes the place of the receiving Postfix for a moment,
offers STARTTLS and records the sender's ClientHello: the protocol
versions, cipher suites and key-exchange groups it offers. The message
then waits in the sender's queue and is delivered once the real server is
back, which the test checks too.
"""

import base64
import contextlib
import json
import pathlib

import pytest

from conftest import address_of
from lab import imap_messages, maildir_messages, submit, swaks, token, wait_for

pytestmark = [pytest.mark.secure_links, pytest.mark.requirement("M5.116-3", "TR-02102-2/tls", "TR-03108-1/starttls")]

CAPTURE_SCRIPT = (pathlib.Path(__file__).parent / "probes" / "clienthello_capture.py").read_bytes()

# IANA code points of what the "bsi" profile may offer. The suites follow
# TR-02102-2: ECDHE with AES-GCM or AES-CCM in TLS 1.2, and AES-GCM or
# AES-128-CCM in TLS 1.3. The groups are the BSI list: secp256r1,
# secp384r1, secp521r1, the Brainpool curves (TLS 1.2 and 1.3 code
# points) and ffdhe3072 to ffdhe8192.
BSI_SUITES = {0xC02B, 0xC02C, 0xC0AC, 0xC0AD, 0xC02F, 0xC030, 0x1301, 0x1302, 0x1304}
BSI_GROUPS = {0x0017, 0x0018, 0x0019, 0x001A, 0x001B, 0x001C, 0x001F, 0x0020, 0x0021,
              0x0101, 0x0102, 0x0103, 0x0104}
# Signalling values that are not suites: renegotiation info and fallback.
SIGNALS = {0x00FF, 0x5600}
TLS_1_2, TLS_1_3 = 0x0303, 0x0304


@contextlib.contextmanager
def capture_client_hello(host, address, port=25, seconds=90):
    """Stop Postfix on host, record ClientHellos on address:port, then start
    Postfix again. Yields a function that returns the records so far."""
    output = "/tmp/clienthello.jsonl"
    host.run("rm -f %s", output)
    host.run("echo %s | base64 -d > /tmp/clienthello_capture.py",
             base64.b64encode(CAPTURE_SCRIPT).decode())
    assert host.run("systemctl stop postfix.service").rc == 0
    try:
        started = host.run("systemd-run --unit=clienthello-capture --collect python3 "
                           "/tmp/clienthello_capture.py %s %s %s %s", address, str(port), output, str(seconds))
        assert started.rc == 0, started.stderr
        assert wait_for(lambda: host.run("ss -Hltn 'sport = :%d'" % port).stdout.strip(), timeout=10)

        def records():
            text = host.run("cat %s 2>/dev/null", output).stdout
            return [json.loads(line) for line in text.splitlines() if line.strip()]

        yield records
    finally:
        host.run("systemctl stop clienthello-capture.service")
        assert host.run("systemctl start postfix.service").rc == 0


def offered(records, client):
    """The first ClientHello that client sent, or None."""
    for record in records():
        if record["client"] == client:
            assert "error" not in record, record
            return record
    return None


def assert_bsi(hello):
    assert set(hello["versions"]) <= {TLS_1_2, TLS_1_3}, [hex(v) for v in hello["versions"]]
    suites = set(hello["suites"]) - SIGNALS
    assert suites, "no cipher suite offered"
    assert suites <= BSI_SUITES, [hex(s) for s in suites - BSI_SUITES]
    assert hello["groups"], "no key-exchange group offered"
    assert set(hello["groups"]) <= BSI_GROUPS, [hex(g) for g in set(hello["groups"]) - BSI_GROUPS]


def test_mail_server_client_offers_bsi_only(lab, hosts, net, john):
    """Internal server to relay: the SMTP client offers the "bsi" profile."""
    subject = token()
    recipient = "%s@%s" % (lab["internet_user"], lab["internet_domain"])
    relay_address = address_of(lab, lab["relay"])
    with capture_client_hello(hosts["relay"], relay_address) as records:
        result = submit(hosts[net["client"]], net["mail_fqdn"], john["address"], john["password"],
                        john["address"], recipient, subject)
        assert result.rc == 0, result.stdout
        hello = wait_for(lambda: offered(records, address_of(lab, net["mail"])), timeout=60)
        assert hello, "the mail server never connected to the capture server"
    assert_bsi(hello)

    hosts[net["mail"]].run("postqueue -f")
    maildir = "/home/%s/Maildir" % lab["internet_user"]
    assert wait_for(lambda: maildir_messages(hosts["internet"], maildir, subject), timeout=90), \
        "the deferred message was not delivered after the relay came back"


def test_relay_client_to_mail_server_offers_bsi_only(lab, hosts, net, erika):
    """Relay to internal server: the "relay" transport offers the "bsi" profile."""
    subject = token()
    with capture_client_hello(hosts[net["mail"]], address_of(lab, net["mail"])) as records:
        result = swaks(hosts["internet"], "--server", lab["relay_fqdn"],
                       "--from", "alice@%s" % lab["internet_domain"], "--to", erika["address"],
                       "--header", "Subject: " + subject, "--body", "Test message " + subject)
        assert "250 2.0.0 Ok: queued" in result.stdout, result.stdout
        hello = wait_for(lambda: offered(records, address_of(lab, lab["relay"])), timeout=60)
        assert hello, "the relay never connected to the capture server"
    assert_bsi(hello)

    hosts["relay"].run("postqueue -f")
    assert wait_for(lambda: imap_messages(hosts[net["client"]], net["mail_fqdn"], erika["address"],
                                          erika["password"], subject), timeout=90), \
        "the deferred message was not delivered after the mail server came back"


def test_relay_client_to_internet_puts_bsi_first(lab, hosts, networks):
    """Relay to internet ("opportunistic"): TLS 1.2 and 1.3 only, and the
    "bsi" suites and groups before any other."""
    net = networks[0]
    john = net["users"][0]
    subject = token()
    recipient = "%s@%s" % (lab["internet_user"], lab["internet_domain"])
    with capture_client_hello(hosts["internet"], address_of(lab, "internet")) as records:
        result = submit(hosts[net["client"]], net["mail_fqdn"], john["address"], john["password"],
                        john["address"], recipient, subject)
        assert result.rc == 0, result.stdout
        hello = wait_for(lambda: offered(records, address_of(lab, lab["relay"])), timeout=60)
        assert hello, "the relay never connected to the capture server"

    assert set(hello["versions"]) <= {TLS_1_2, TLS_1_3}, [hex(v) for v in hello["versions"]]
    suites = [suite for suite in hello["suites"] if suite not in SIGNALS]
    bsi_positions = [index for index, suite in enumerate(suites) if suite in BSI_SUITES]
    other_positions = [index for index, suite in enumerate(suites) if suite not in BSI_SUITES]
    assert bsi_positions, [hex(s) for s in suites]
    assert not other_positions or max(bsi_positions) < min(other_positions), [hex(s) for s in suites]
    groups = hello["groups"]
    assert groups and groups[0] in BSI_GROUPS, [hex(g) for g in groups]

    hosts["relay"].run("postqueue -f")
    maildir = "/home/%s/Maildir" % lab["internet_user"]
    assert wait_for(lambda: maildir_messages(hosts["internet"], maildir, subject), timeout=90), \
        "the deferred message was not delivered after the internet host came back"
