"""Checklist item 1: the mail server is protected by a packet filter
against unauthorised access from the internal network."""

import pytest

from conftest import address_of
from lab import probe_ports, wait_for

pytestmark = [pytest.mark.packet_filter, pytest.mark.requirement("M5.116-1", "NET.3.2.A2")]

# Ports no zone may reach on the mail server: SMTP (relay only), SSH, plain
# IMAP and POP3, LMTP, ManageSieve, web, databases and a random high port.
CLOSED_PORTS = [22, 24, 25, 80, 110, 143, 443, 3306, 4190, 5432, 8080, 31337]


def test_client_reaches_only_mailbox_ports(lab, hosts, net):
    """From the LAN only submission and IMAPS (POP3S and the STARTTLS
    ports when the network opens them) accept connections."""
    allowed = net["user_ports"]
    others = [port for port in CLOSED_PORTS + [465, 995] if port not in allowed]
    states = probe_ports(hosts[net["client"]], address_of(lab, net["mail"]), allowed + others)

    for port in allowed:
        assert states[port] == "open", "port %d from the LAN: %s" % (port, states[port])
    for port in others:
        assert states[port] != "open", "port %d answers the LAN" % port


def test_lan_smtp_is_dropped_by_filter(lab, hosts, net):
    """Port 25 listens on the mail server, so a timeout proves the filter."""
    listening = hosts[net["mail"]].run("ss -Hltn 'sport = :25'").stdout
    assert listening.strip(), "Postfix does not listen on port 25"

    states = probe_ports(hosts[net["client"]], address_of(lab, net["mail"]), [25])
    assert states[25] == "filtered"


def test_only_relay_reaches_smtp_from_gateway_dmz(lab, hosts, net):
    """From the gateway DMZ, the relay connects to port 25 of the internal
    mail server, but a connection attempt from the outer packet filter,
    which sits in the same zone, gets no reply."""
    mail = address_of(lab, net["mail"])

    assert probe_ports(hosts["relay"], mail, [25])[25] == "open"
    # The outer packet filter sits in the gateway DMZ too, beside the relay.
    assert probe_ports(hosts["outer-pf"], mail, [25])[25] == "filtered"


@pytest.mark.requirement("NET.1.1.A4")
def test_internet_reaches_no_inner_host(lab, hosts, net):
    """From the internet host, connection attempts to the internal mail
    server and to a LAN client on ports 25, 587 and 993 all get no reply, so
    the packet filters drop them."""
    for target in (net["mail"], net["client"]):
        states = probe_ports(hosts["internet"], address_of(lab, target), [25, 587, 993])
        assert set(states.values()) == {"filtered"}, (target, states)


@pytest.mark.requirement("NET.1.1.A4")
def test_relay_reaches_nothing_in_lan(lab, hosts, net):
    """From the relay, connection attempts to a LAN client on SSH (22), SMTP
    (25) and SMB (445) all get no reply, so the packet filters drop them."""
    states = probe_ports(hosts["relay"], address_of(lab, net["client"]), [22, 25, 445])
    assert set(states.values()) == {"filtered"}, states


def logged_drops(host, prefix, source, port):
    """Return the NFLOG lines on host for a dropped packet with that zone
    pair prefix, source address and destination port."""
    log = host.run("cat /var/log/ulog/syslogemu.log").stdout
    return [
        line for line in log.splitlines()
        if prefix in line and "SRC=%s " % source in line and "DPT=%d " % port in line
    ]


@pytest.mark.requirement("NET.3.2.A9", "OPS.1.1.5.A3")
def test_dropped_connection_is_logged(lab, hosts, net):
    """The inner packet filter logs the drop with the zone pair in the prefix."""
    port = 4190
    probe_ports(hosts[net["client"]], address_of(lab, net["mail"]), [port])
    prefix = "%s %s>%s" % (lab["log_prefix"], net["lan_zone"], net["mail_dmz_zone"])

    lines = wait_for(
        lambda: logged_drops(hosts["inner-pf"], prefix, address_of(lab, net["client"]), port),
        timeout=10,
    )
    assert lines, "inner-pf logged no %r drop for port %d" % (prefix, port)


@pytest.mark.requirement("NET.3.2.A9", "OPS.1.1.5.A3")
def test_mail_server_filter_drops_unknown_peer(lab, hosts, net):
    """The mail server's own filter drops what its flows do not allow: the
    inner packet filter reaches it inside the mail DMZ, without routing."""
    source = address_of(lab, "inner-pf", net["mail_dmz_zone"])
    states = probe_ports(hosts["inner-pf"], address_of(lab, net["mail"]), [25, 587, 993])
    assert set(states.values()) == {"filtered"}, states

    prefix = "%s %s>%s" % (lab["log_prefix"], net["mail_dmz_zone"], net["mail_dmz_zone"])
    lines = wait_for(lambda: logged_drops(hosts[net["mail"]], prefix, source, 993), timeout=10)
    assert lines, "mail logged no %r drop" % prefix
