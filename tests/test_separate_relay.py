"""Checklist item 2: mail to external addresses is sent through a separate
mail relay, and the internal mail server never talks to the internet."""

import email

import pytest

from conftest import address_of
from lab import maildir_messages, probe_ports, submit, swaks, token, wait_for

pytestmark = [pytest.mark.separate_relay, pytest.mark.requirement("M5.116-2")]


@pytest.mark.requirement("NET.1.1.A4", "NET.3.2.A2")
def test_mail_server_cannot_reach_internet(lab, hosts, net):
    """From the internal mail server, connection attempts to the internet
    host on ports 25, 53, 80, 443 and 587 neither connect nor get a reset."""
    states = probe_ports(hosts[net["mail"]], address_of(lab, "internet"), [25, 53, 80, 443, 587])
    assert "open" not in states.values(), states
    assert "closed" not in states.values(), states


def test_outbound_mail_passes_relay(lab, hosts, net, john):
    """A user's message to the internet arrives with the relay in its path
    and with the sender rewritten to the canonical address."""
    subject = token()
    recipient = "%s@%s" % (lab["internet_user"], lab["internet_domain"])
    result = submit(hosts[net["client"]], net["mail_fqdn"], john["address"], john["password"],
                    john["aliases"][0], recipient, subject)
    assert result.rc == 0, result.stdout

    maildir = "/home/%s/Maildir" % lab["internet_user"]
    messages = wait_for(lambda: maildir_messages(hosts["internet"], maildir, subject), timeout=60)
    assert messages, "message %s did not arrive on the internet host" % subject

    message = email.message_from_string(messages[0])
    received = message.get_all("Received")
    assert any("by %s" % lab["relay_fqdn"] in header for header in received), received
    assert any("by %s" % net["mail_fqdn"] in header for header in received), received
    assert john["address"] in message["From"]


@pytest.mark.requirement("APP.5.3.A2")
def test_relay_denies_relaying_for_internet(lab, hosts, net):
    """The relay rejects a message from the internet host to a foreign
    domain at RCPT TO with "554 5.7.1 ... Relay access denied"."""
    result = swaks(hosts["internet"], "--server", lab["relay_fqdn"], "--quit-after", "RCPT",
                   "--from", "alice@%s" % lab["internet_domain"],
                   "--to", "victim@elsewhere.example")
    assert "554 5.7.1" in result.stdout, result.stdout
    assert "Relay access denied" in result.stdout


@pytest.mark.requirement("APP.5.3.A2")
def test_relay_denies_relaying_for_gateway_host(lab, hosts, net):
    """A gateway DMZ host that is not an internal mail server may not relay."""
    result = swaks(hosts["outer-pf"], "--server", address_of(lab, "relay"),
                   "--quit-after", "RCPT",
                   "--from", "someone@%s" % lab["internet_domain"],
                   "--to", "victim@elsewhere.example")
    assert "554 5.7.1" in result.stdout, result.stdout
    assert "Relay access denied" in result.stdout


@pytest.mark.requirement("NET.3.2.A2")
def test_client_cannot_reach_relay(lab, hosts, net):
    """Workstations send through the internal mail server, never the relay."""
    states = probe_ports(hosts[net["client"]], address_of(lab, "relay"), [25, 465, 587])
    assert set(states.values()) == {"filtered"}, states
