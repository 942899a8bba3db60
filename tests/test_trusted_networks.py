"""Several trusted networks behind one gateway: each network's mail server
serves only its own network, mail between networks passes the relay over
verified TLS, and the inner packet filter keeps the networks apart."""

import time

import pytest

from conftest import address_of
from lab import (imap_messages, journal, probe_targets, submit, swaks, token,
                 wait_for)

# Ports tried on every host of every other zone: SSH and the mail ports.
MATRIX_PORTS = [22, 25, 110, 143, 465, 587, 993, 995]


@pytest.mark.requirement("M5.116-2", "M5.116-3", "TR-03108-1/starttls")
@pytest.mark.mail_flows
def test_mail_between_networks_passes_relay(lab, hosts, pair):
    """A user of one trusted network submits a message to an alias of a user
    in another. It arrives exactly once, read over IMAPS from the receiving
    network's LAN, with the relay in its Received headers. The sending mail
    server logs a verified TLS connection to the relay, and the relay one to
    the receiving mail server."""
    sender_net, receiver_net = pair
    sender, receiver = sender_net["users"][0], receiver_net["users"][1]
    started = time.time() - 1
    subject = token()

    result = submit(hosts[sender_net["client"]], sender_net["mail_fqdn"], sender["address"],
                    sender["password"], sender["address"], receiver["aliases"][0], subject)
    assert result.rc == 0, result.stdout

    messages = wait_for(lambda: imap_messages(hosts[receiver_net["client"]],
                                              receiver_net["mail_fqdn"], receiver["address"],
                                              receiver["password"], subject))
    assert len(messages) == 1
    assert "by %s" % lab["relay_fqdn"] in messages[0]

    inward = "Verified TLS connection established to %s" % receiver_net["mail_fqdn"]
    assert wait_for(lambda: journal(hosts["relay"], started, inward), timeout=30)
    outward = "Verified TLS connection established to %s" % lab["relay_fqdn"]
    assert wait_for(lambda: journal(hosts[sender_net["mail"]], started, outward), timeout=30)


def expected_open(lab, source, net):
    """Return the (address, port) pairs that the declared flows open from
    source, a client or mail server of network net."""
    relay = address_of(lab, lab["relay"])
    if source == net["client"]:
        return {(address_of(lab, net["mail"]), port) for port in net["user_ports"]}
    allowed = {(relay, 25)}
    for gateway in net.get("gateways", []):
        allowed.add((gateway["host"], int(gateway.get("port", 25))))
    return allowed


@pytest.mark.requirement("M5.116-1", "NET.1.1.A4", "NET.3.2.A2")
@pytest.mark.packet_filter
@pytest.mark.parametrize("role", ["client", "mail"])
def test_only_declared_flows_connect(lab, hosts, net, role):
    """From a network's client and mail server, every host of every other
    zone is tried on SSH and the mail ports: only declared flows connect."""
    source = net[role]
    source_zones = {interface["zone"] for interface in lab["addresses"][source]}
    targets = [
        (interface["address"], port)
        for interfaces in lab["addresses"].values()
        for interface in interfaces if interface["zone"] not in source_zones
        for port in MATRIX_PORTS
    ]
    states = probe_targets(hosts[source], targets)
    expected = expected_open(lab, source, net)

    opened = {target for target, state in states.items() if state == "open"}
    assert opened == expected, "unexpected: %s, missing: %s" % (
        sorted(opened - expected), sorted(expected - opened))


@pytest.mark.requirement("M5.116-internal-server")
@pytest.mark.mail_flows
def test_legacy_gateway_receives_its_subdomain(lab, hosts, net):
    """A subdomain routed to another mail system of the network arrives
    there, from the internet through relay and mail server."""
    if not net.get("gateways"):
        pytest.skip("network %s declares no gateway to another mail system" % net["name"])
    gateway = net["gateways"][0]
    subject = token()
    result = swaks(hosts["internet"], "--server", "127.0.0.1",
                   "--from", "alice@%s" % lab["internet_domain"],
                   "--to", gateway["recipients"][0], "--header", "Subject: " + subject)
    assert result.rc == 0, result.stdout

    legacy = hosts[net["name"] + "-legacy"]
    stored = wait_for(lambda: legacy.run("grep -rlF -- %s /var/lib/legacy-sink", subject).stdout,
                      timeout=60)
    assert stored, "the legacy system did not receive %s" % subject


@pytest.mark.requirement("M5.116-3", "APP.5.3.A2")
@pytest.mark.secure_links
def test_relay_rejects_unknown_legacy_recipient(lab, hosts, net):
    """The relay rejects a message from the internet host to an unknown
    recipient in the subdomain of another mail system of the network, at
    RCPT TO with 550 5.1.1. Networks without such a mail system skip the
    test."""
    if not net.get("gateways"):
        pytest.skip("network %s declares no gateway to another mail system" % net["name"])
    result = swaks(hosts["internet"], "--server", lab["relay_fqdn"], "--quit-after", "RCPT",
                   "--from", "alice@%s" % lab["internet_domain"],
                   "--to", "nobody@%s" % net["gateways"][0]["domain"])
    assert "550 5.1.1" in result.stdout, result.stdout
