"""DANE towards the internet: the relay checks the outside MTA's key
against the TLSA record of a DNSSEC-signed zone, and a record that does not
match keeps the mail in the queue instead of sending it without the check.

The lab DNS (Knot on the internet host) signs the zone; the relay's own
Unbound validates it from the zone's trust anchor."""

import contextlib
import time

import pytest

from lab import journal, maildir_messages, queue_ids, submit, token, wait_for

pytestmark = [pytest.mark.secure_links, pytest.mark.requirement("M5.116-3", "TR-03108-1/dane")]

ZONE = "example."
WRONG_DIGEST = "00" * 32


def tlsa_owner(lab):
    return "_25._tcp.%s." % lab["fqdns"]["internet"]


def set_tlsa(internet, owner, record):
    """Replace the TLSA record in the signed zone (Knot signs the change)."""
    for command in ("zone-begin %s" % ZONE, "zone-unset %s %s TLSA" % (ZONE, owner),
                    "zone-set %s %s 30 TLSA %s" % (ZONE, owner, record), "zone-commit %s" % ZONE):
        result = internet.run("knotc " + command)
        assert result.rc == 0, (command, result.stdout, result.stderr)


def forget_records(relay):
    """Make the relay look the records up again: flush its resolver's cache
    and restart Postfix's SMTP clients, which keep TLSA records for their
    TTL."""
    result = relay.run("unbound-control -c /etc/unbound/unbound.conf flush_zone %s" % ZONE)
    assert result.rc == 0, result.stderr
    result = relay.run("postfix reload")
    assert result.rc == 0, result.stderr


def key_digest(internet):
    """SHA-256 of the outside MTA's public key, as a TLSA 3 1 1 record has it."""
    result = internet.run("openssl x509 -in /etc/ssl/mailgw/cert.pem -noout -pubkey"
                          " | openssl pkey -pubin -outform DER | sha256sum")
    assert result.rc == 0, result.stderr
    return result.stdout.split()[0].upper()


@contextlib.contextmanager
def wrong_tlsa_record(lab, hosts):
    """Publish a TLSA record that matches no key, then the right one again."""
    owner = tlsa_owner(lab)
    real = "3 1 1 " + key_digest(hosts["internet"])
    set_tlsa(hosts["internet"], owner, "3 1 1 " + WRONG_DIGEST)
    forget_records(hosts["relay"])
    try:
        yield
    finally:
        set_tlsa(hosts["internet"], owner, real)
        forget_records(hosts["relay"])


def send_out(lab, hosts, net, user):
    subject = token()
    recipient = "%s@%s" % (lab["internet_user"], lab["internet_domain"])
    result = submit(hosts[net["client"]], net["mail_fqdn"], user["address"], user["password"],
                    user["address"], recipient, subject)
    assert result.rc == 0, result.stdout
    maildir = "/home/%s/Maildir" % lab["internet_user"]
    return subject, lambda: maildir_messages(hosts["internet"], maildir, subject)


def test_signed_tlsa_record_validates(lab, hosts):
    """The relay's resolver returns the TLSA record with the AD flag."""
    answer = hosts["relay"].run("dig +dnssec TLSA %s", tlsa_owner(lab)).stdout
    assert " ad" in answer.split("flags:")[1].split(";")[0], answer
    records = hosts["relay"].run("dig +short TLSA %s", tlsa_owner(lab)).stdout
    assert records.replace(" ", "").upper().strip() == "311" + key_digest(hosts["internet"]), records


def test_outbound_mail_uses_dane(lab, hosts, net, john):
    """A message to the outside MTA is sent after a DANE match."""
    started = time.time() - 1
    _subject, arrived = send_out(lab, hosts, net, john)
    assert wait_for(arrived, timeout=60), "the message did not arrive on the internet host"
    line = wait_for(lambda: journal(hosts["relay"], started,
                                    "Verified TLS connection established to %s" % lab["fqdns"]["internet"]),
                    timeout=15)
    assert line, journal(hosts["relay"], started, "TLS")


def test_wrong_tlsa_record_holds_mail(lab, hosts, net, john):
    """A TLSA record that does not match stops delivery (no fallback to
    unauthenticated TLS or plain text); the right record releases it."""
    with wrong_tlsa_record(lab, hosts):
        subject, arrived = send_out(lab, hosts, net, john)
        relay = hosts["relay"]
        assert wait_for(lambda: queue_ids(relay, subject), timeout=60), "the relay never queued the message"
        reason = wait_for(lambda: "Server certificate not verified" in relay.run("postqueue -p").stdout,
                          timeout=60)
        assert reason, relay.run("postqueue -p").stdout
        assert not arrived(), "the message was delivered although the TLSA record does not match"

    hosts["relay"].run("postqueue -f")
    assert wait_for(arrived, timeout=60), "the held message was not delivered after the record was restored"
