"""A trusted network removed from the inventory is gone everywhere after
the next converge: its domains are no longer relayed, its routes and packet
filter rules are gone, and no lookup table keeps an entry of it.

These tests run after playbooks/lab/remove-network.yml (the multi-network
Molecule scenario's side effect); before it they are skipped."""

import json

import pytest
import testinfra

from conftest import state_dir
from lab import probe_ports, swaks

RELAY_TABLES = ["relay_domains", "relay_recipients", "transport", "tls_policy", "internal_senders"]


@pytest.fixture(scope="module")
def removed():
    path = state_dir() / "removed.json"
    if not path.exists():
        pytest.skip("no network was removed from this lab")
    return json.loads(path.read_text())


def removed_words(removed):
    """Return the strings that identify the removed network in a config."""
    network = removed["network"]
    words = list(network["domains"]) + [gateway["domain"] for gateway in network.get("gateways", [])]
    words += [subnet.rsplit(".", 1)[0] + "." for subnet in network["lan"] + network["mail_dmz"]]
    words += [network["name"] + "_lan", network["name"] + "_mail_dmz", removed["mail_address"]]
    return words


@pytest.mark.requirement("KIT-removed-network-gone", "M5.116-2", "APP.5.3.A2")
@pytest.mark.separate_relay
def test_relay_no_longer_relays_removed_domain(lab, hosts, removed):
    """After a trusted network is removed from the inventory, the relay
    rejects a message from the internet host to a user of that network at
    RCPT TO with "554 5.7.1 ... Relay access denied"."""
    recipient = removed["network"]["users"][0]["address"]
    result = swaks(hosts["internet"], "--server", lab["relay_fqdn"], "--quit-after", "RCPT",
                   "--from", "alice@%s" % lab["internet_domain"], "--to", recipient)
    assert "554 5.7.1" in result.stdout, result.stdout
    assert "Relay access denied" in result.stdout, result.stdout


@pytest.mark.requirement("KIT-removed-network-gone")
@pytest.mark.separate_relay
@pytest.mark.parametrize("table", RELAY_TABLES)
def test_relay_table_has_no_entry_of_removed_network(hosts, removed, table):
    """After the removal, no lookup table of the relay (relay_domains,
    relay_recipients, transport, tls_policy, internal_senders), as
    "postmap -s" lists it, contains any of the removed network's domains,
    zone names, subnets or addresses, such as its mail server's."""
    entries = hosts["relay"].run("postmap -s hash:/etc/postfix/%s" % table)
    assert entries.rc == 0, entries.stderr
    for word in removed_words(removed):
        assert word not in entries.stdout, "%s still has %s" % (table, word)


@pytest.mark.requirement("KIT-removed-network-gone", "M5.116-2")
@pytest.mark.separate_relay
def test_relay_trusts_removed_mail_server_no_more(hosts, removed):
    """After the removal, the address of the removed mail server is no
    longer in the relay's mynetworks, so the relay no longer trusts it as an
    internal mail server."""
    mynetworks = hosts["relay"].run("postconf -h mynetworks").stdout
    assert removed["mail_address"] not in mynetworks.split()


@pytest.mark.requirement("KIT-removed-network-gone", "NET.3.2.A2")
@pytest.mark.packet_filter
@pytest.mark.parametrize("router", ["outer-pf", "inner-pf"])
def test_filter_has_no_rule_of_removed_network(hosts, removed, router):
    """After the removal, the loaded ruleset of the inner and of the outer
    packet filter names none of the removed network's domains, zone names,
    subnets or addresses, such as its mail server's."""
    ruleset = hosts[router].run("nft list table inet mailgw")
    assert ruleset.rc == 0, ruleset.stderr
    for word in removed_words(removed):
        assert word not in ruleset.stdout, "%s still has %s" % (router, word)


@pytest.mark.requirement("KIT-removed-network-gone")
@pytest.mark.packet_filter
@pytest.mark.parametrize("host", ["relay", "outer-pf"])
def test_no_route_to_removed_network(hosts, removed, host):
    """After the removal, neither the relay nor the outer packet filter has
    an IPv4 route to the LAN or the mail DMZ of the removed network."""
    routes = hosts[host].run("ip -4 route show").stdout
    for subnet in removed["network"]["lan"] + removed["network"]["mail_dmz"]:
        assert subnet not in routes, "%s still routes %s" % (host, subnet)


@pytest.mark.requirement("KIT-removed-network-gone", "M5.116-1", "NET.3.2.A2")
@pytest.mark.packet_filter
def test_removed_mail_server_cannot_reach_relay(lab, removed):
    """The removed network's mail server still runs, but its flow to the
    relay is gone from the inner packet filter."""
    mail = testinfra.get_host("docker://" + removed["mail_container"])
    relay = lab["addresses"][lab["relay"]][0]["address"]

    assert probe_ports(mail, relay, [25])[25] == "filtered"
