#!/usr/bin/env python3
"""Inventory of the lab: a security gateway with N trusted networks.

Ansible runs this script as a dynamic inventory. MAILGW_LAB_NETWORKS sets
the number of trusted networks (default 1, at most 8). Every host is a
container on this machine (playbooks/lab/create.yml makes them):

  internet 198.18.0.0/24       internet: outside MTA for partner.example, signed DNS
     | outer-pf
  gateway_dmz 172.29.1.0/24    relay: external relay mx.gateway.example
     | inner-pf
  per network i (0, 1, ...):
    <name>_mail_dmz 172.29.(2+2i).0/24   <name>-mail: its internal mail server
    <name>_lan      172.29.(3+2i).0/24   <name>-client: a workstation

The first network also has a legacy mail system in its LAN, which receives
the subdomain legacy.<domain> (the mail server hands it over).

The group_vars beside this script turn topology_networks into the roles'
inputs; inventories/example shows the same structure written out for a
real site.
"""

import json
import os
import pathlib
import sys

NAMES = ["agency", "ministry", "institute", "office", "archive", "bureau", "council", "court"]
FIRST_NAMES = [("john", "doe"), ("erika", "mustermann"), ("max", "muster"), ("anna", "schmidt")]

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
INTERNET = "198.18.0.0/24"
GATEWAY_DMZ = "172.29.1.0/24"


def network_count():
    raw = os.environ.get("MAILGW_LAB_NETWORKS", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= len(NAMES):
        sys.exit("MAILGW_LAB_NETWORKS=%r is invalid: set a number from 1 to %d"
                 % (raw, len(NAMES)))
    return int(raw)


def users_of(index, domain):
    """Return two lab users of a network. The first has two personal
    aliases, the second one personal alias and the office address."""
    (first_a, last_a), (first_b, last_b) = FIRST_NAMES[2 * (index % 2):2 * (index % 2) + 2]
    users = [
        {"address": "%s.%s@%s" % (first_a, last_a, domain),
         "aliases": ["%s%s@%s" % (first_a[0], last_a, domain),
                     "%s.%s@%s" % (first_a[0], last_a, domain)]},
        {"address": "%s.%s@%s" % (first_b, last_b, domain),
         "aliases": ["%s%s@%s" % (first_b[0], last_b, domain),
                     "poststelle@%s" % domain]},
    ]
    for number, user in enumerate(users, start=1):
        # Lab passwords only: at a real site keep passwords in Ansible Vault.
        user["password"] = "lab-%s-%s-Secret-%d" % (NAMES[index], user["address"].split(".")[0], number)
    return users


def build(count):
    hostvars = {}
    groups = {
        "packet_filters": ["outer-pf", "inner-pf"],
        "mail_relays": ["relay"],
        "mail_servers": [],
        "dns_resolvers": ["relay"],
        "lab_internet": ["internet"],
        "lab_clients": [],
        "lab_legacy": [],
    }
    networks = []
    inner_interfaces = [{"zone": "gateway_dmz", "address": "172.29.1.3"}]
    inner_subnets = []

    for index in range(count):
        name = NAMES[index]
        domain = name + ".example"
        dmz_octet, lan_octet = 2 + 2 * index, 3 + 2 * index
        mail_dmz = "172.29.%d.0/24" % dmz_octet
        lan = "172.29.%d.0/24" % lan_octet
        mail_host, client_host = name + "-mail", name + "-client"
        inner_subnets += [mail_dmz, lan]
        inner_interfaces += [
            {"zone": name + "_mail_dmz", "address": "172.29.%d.2" % dmz_octet},
            {"zone": name + "_lan", "address": "172.29.%d.2" % lan_octet},
        ]
        users = users_of(index, domain)
        network = {
            "name": name,
            "domains": [domain],
            "lan": [lan],
            "mail_dmz": [mail_dmz],
            "mail_server": mail_host,
            "clients": [lan],
            # The first network also opens POP3S and the STARTTLS ports, so
            # the tests cover them; the others keep the defaults.
            "pop3": index == 0,
            "starttls_ports": index == 0,
            "users": users,
            "aliases": {
                "postmaster@" + domain: [users[0]["address"]],
                "abuse@" + domain: [users[0]["address"]],
                "info@" + domain: [users[1]["address"], users[0]["address"]],
            },
        }
        hostvars[mail_host] = {
            "topology_interfaces": [{"zone": name + "_mail_dmz",
                                     "address": "172.29.%d.10" % dmz_octet}],
            "topology_fqdn": "mail." + domain,
            "routes_list": [{"to": "default", "via": "172.29.%d.2" % dmz_octet}],
            # The trusted networks have no DNS server in the lab: names
            # come from /etc/hosts.
            "mail_server_host_lookup": "native",
        }
        hostvars[client_host] = {
            "topology_interfaces": [{"zone": name + "_lan", "address": "172.29.%d.10" % lan_octet}],
            "routes_list": [{"to": "default", "via": "172.29.%d.2" % lan_octet}],
        }
        groups["mail_servers"].append(mail_host)
        groups["lab_clients"].append(client_host)
        if index == 0:
            legacy_host = name + "-legacy"
            legacy_address = "172.29.%d.20" % lan_octet
            hostvars[legacy_host] = {
                "topology_interfaces": [{"zone": name + "_lan", "address": legacy_address}],
                "topology_fqdn": "legacy." + domain,
                "routes_list": [{"to": "default", "via": "172.29.%d.2" % lan_octet}],
            }
            groups["lab_legacy"].append(legacy_host)
            network["gateways"] = [{
                "domain": "legacy." + domain,
                "host": legacy_address,
                "nexthop": "[legacy.%s]:25" % domain,
                "zone": "lan",
                "tls": "may",
                "recipients": ["archive@legacy." + domain, "registry@legacy." + domain],
            }]
        networks.append(network)

    hostvars["internet"] = {
        "topology_interfaces": [{"zone": "internet", "address": "198.18.0.10"}],
        "topology_fqdn": "mx.partner.example",
        "lab_uses_internet_dns": True,
        # Probes from the internet reach the inner zones only through the
        # outer packet filter.
        "routes_list": [{"to": "172.29.0.0/16", "via": "198.18.0.2"}],
    }
    hostvars["outer-pf"] = {
        "topology_interfaces": [{"zone": "internet", "address": "198.18.0.2"},
                                {"zone": "gateway_dmz", "address": "172.29.1.2"}],
        "routes_list": [{"to": subnet, "via": "172.29.1.3"} for subnet in inner_subnets],
    }
    hostvars["relay"] = {
        "topology_interfaces": [{"zone": "gateway_dmz", "address": "172.29.1.10"}],
        "topology_fqdn": "mx.gateway.example",
        "lab_uses_internet_dns": True,
        # MX lookups go to the lab DNS; internal names come from /etc/hosts.
        "mail_relay_host_lookup": "dns, native",
        # DANE towards the internet, validated by the relay's own resolver
        # against the lab zone's trust anchor.
        "mail_relay_outbound_tls": "dane",
        "mail_relay_dnssec_probe": "ns:example.",
        "routes_list": [{"to": "default", "via": "172.29.1.2"}]
        + [{"to": subnet, "via": "172.29.1.3"} for subnet in inner_subnets],
    }
    hostvars["inner-pf"] = {
        "topology_interfaces": inner_interfaces,
        "routes_list": [{"to": "default", "via": "172.29.1.2"}],
    }

    inventory = {name: {"hosts": hosts} for name, hosts in groups.items()}
    inventory["all"] = {
        "children": list(groups),
        "vars": {
            "topology_internet": [INTERNET],
            "topology_gateway_dmz": [GATEWAY_DMZ],
            "topology_relay": "relay",
            "topology_dns_servers": ["198.18.0.10"],
            # The repository this inventory belongs to, for the lab's state
            # directory (group_vars/all/connection.yml).
            "lab_repository_dir": str(REPOSITORY),
            "topology_networks": networks,
        },
    }
    inventory["_meta"] = {"hostvars": hostvars}
    return inventory


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--host":
        print("{}")
        return
    print(json.dumps(build(network_count()), indent=2))


if __name__ == "__main__":
    main()
