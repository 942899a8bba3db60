"""Filters that derive the role inputs of a site from its topology.

The inventory declares the gateway zones and a list of trusted networks
(topology_networks). These filters turn that list into the zones and flows
of the packet filters and the relayed domains of the relay. Adding a
trusted network is therefore adding one entry to the list.

A trusted network entry has these keys:
  name         zone-name prefix, letters, digits and underscores
  domains      mail domains of the network
  lan          CIDRs of the network's LAN
  mail_dmz     CIDRs of the network's mail DMZ
  mail_server  inventory name of the network's internal mail server
  clients      CIDRs or addresses that may submit and read mail (default:
               the whole LAN)
  pop3         serve POP3S beside IMAPS (default false)
  starttls_ports  also open IMAP 143 (and POP3 110) with STARTTLS (default
               false)
  users        mailbox users (see the mail_server role)
  aliases      role addresses (see the mail_server role)
  gateways     subdomains handed to another mail system. Each entry has
               domain, host (its IPv4 address), zone ("lan" or "mail_dmz"),
               port (default 25), nexthop, tls and recipients.
"""

import ipaddress

from ansible.errors import AnsibleFilterError


def _first_address(hostvars, host):
    try:
        return hostvars[host]["topology_interfaces"][0]["address"]
    except (KeyError, IndexError, TypeError) as error:
        raise AnsibleFilterError(
            "host %r has no address in topology_interfaces: add "
            "topology_interfaces: [{zone: ..., address: ...}] to its host vars" % host
        ) from error


def topology_zones(networks, internet, gateway_dmz):
    """Return the zones: internet, gateway_dmz, and a LAN and a mail DMZ per network."""
    zones = {"internet": list(internet), "gateway_dmz": list(gateway_dmz)}
    for network in networks:
        zones[network["name"] + "_mail_dmz"] = list(network["mail_dmz"])
        zones[network["name"] + "_lan"] = list(network["lan"])
    return zones


def topology_flows(networks, hostvars, relay, dns_servers=()):
    """Return the allowed connections of the whole site.

    The relay talks SMTP with the internet and with every internal mail
    server. Each mail server talks SMTP only with the relay and its
    gateways, and each network's clients reach only their own mail server."""
    relay_address = _first_address(hostvars, relay)
    flows = [
        {"name": "internet to relay smtp", "from": "internet", "to": "gateway_dmz",
         "to_hosts": [relay_address], "ports": [25]},
        {"name": "relay to internet smtp", "from": "gateway_dmz",
         "from_hosts": [relay_address], "to": "internet", "ports": [25]},
    ]
    for proto in ("udp", "tcp") if dns_servers else ():
        # Signed responses can exceed a UDP datagram, so the resolver then
        # repeats the query over TCP.
        flows.append({"name": "relay to internet dns (%s)" % proto, "from": "gateway_dmz",
                      "from_hosts": [relay_address], "to": "internet",
                      "to_hosts": list(dns_servers), "proto": proto, "ports": [53]})
    for network in networks:
        name = network["name"]
        mail_address = _first_address(hostvars, network["mail_server"])
        pop3 = network.get("pop3", False)
        ports = [465, 587, 993] + ([995] if pop3 else [])
        if network.get("starttls_ports", False):
            ports += [143] + ([110] if pop3 else [])
        flows += [
            {"name": "relay to %s mail server smtp" % name, "from": "gateway_dmz",
             "from_hosts": [relay_address], "to": name + "_mail_dmz",
             "to_hosts": [mail_address], "ports": [25]},
            {"name": "%s mail server to relay smtp" % name, "from": name + "_mail_dmz",
             "from_hosts": [mail_address], "to": "gateway_dmz",
             "to_hosts": [relay_address], "ports": [25]},
            {"name": "%s clients to mail server" % name, "from": name + "_lan",
             "from_hosts": list(network.get("clients") or network["lan"]),
             "to": name + "_mail_dmz", "to_hosts": [mail_address], "ports": ports},
        ]
        for gateway in network.get("gateways", []):
            flows.append({
                "name": "%s mail server to %s gateway" % (name, gateway["domain"]),
                "from": name + "_mail_dmz", "from_hosts": [mail_address],
                "to": "%s_%s" % (name, gateway.get("zone", "lan")),
                "to_hosts": [gateway["host"]], "ports": [int(gateway.get("port", 25))],
            })
    return flows


def topology_recipients(network):
    """Return every address the network's mail server accepts."""
    addresses = []
    for user in network.get("users", []):
        addresses.append(user["address"])
        addresses.extend(user.get("aliases", []))
    addresses.extend(network.get("aliases", {}).keys())
    return addresses


def topology_relay_domains(networks, hostvars):
    """Return mail_relay_domains: every domain and gateway subdomain of
    every network, routed to that network's mail server."""
    domains = []
    for network in networks:
        nexthop = hostvars[network["mail_server"]]["topology_fqdn"]
        recipients = topology_recipients(network)
        for domain in network["domains"]:
            suffix = "@" + domain
            domains.append({
                "domain": domain,
                "nexthop": nexthop,
                "recipients": [address for address in recipients if address.endswith(suffix)],
            })
        for gateway in network.get("gateways", []):
            domains.append({"domain": gateway["domain"], "nexthop": nexthop,
                            "recipients": list(gateway["recipients"])})
    return domains


def topology_mail_domains(networks):
    """Return every mail domain of every network, gateway subdomains included."""
    domains = []
    for network in networks:
        domains.extend(network["domains"])
        domains.extend(gateway["domain"] for gateway in network.get("gateways", []))
    return domains


def topology_network_of(networks, host):
    """Return the trusted network whose mail server is host."""
    for network in networks:
        if network["mail_server"] == host:
            return network
    raise AnsibleFilterError(
        "host %r is in mail_servers but no entry of topology_networks names it as "
        "mail_server; add it to the network it serves" % host
    )


def _networks_of(values):
    """Parse CIDRs; values that do not parse are left to the packet filter
    role's checks, which name them."""
    parsed = []
    for value in values or []:
        try:
            parsed.append(ipaddress.ip_network(str(value), strict=False))
        except ValueError:
            continue
    return parsed


def _inside(address, networks):
    try:
        parsed = ipaddress.ip_network(str(address), strict=False)
    except ValueError:
        return True
    return any(parsed.version == network.version and parsed.subnet_of(network)
               for network in networks)


def topology_errors(networks, hostvars, relay, gateway_dmz):
    """Return what is inconsistent across the trusted networks, one message
    per problem: a domain or name used by two networks, a mail server,
    client range or gateway outside the zone it belongs to, or a relay
    outside the gateway DMZ. An empty list means the topology is sound."""
    errors = []
    owners = {}
    for network in networks:
        name = network.get("name", "?")
        domains = list(network.get("domains", []))
        domains += [gateway.get("domain") for gateway in network.get("gateways", [])]
        for domain in domains:
            owners.setdefault(domain, []).append(name)
    for domain, names in owners.items():
        if len(names) > 1:
            errors.append("domain %s is served by the networks %s: give each domain to one "
                          "network only." % (domain, " and ".join(names)))

    names = [network.get("name") for network in networks]
    for name in sorted({name for name in names if names.count(name) > 1}):
        errors.append("the network name %s is used twice: give each network its own name." % name)

    for network in networks:
        name = network.get("name", "?")
        mail_dmz = _networks_of(network.get("mail_dmz"))
        lan = _networks_of(network.get("lan"))
        server = network.get("mail_server")
        if server not in hostvars:
            errors.append("the mail server %r of network %s is not in the inventory: add the "
                          "host or correct mail_server." % (server, name))
        else:
            address = _first_address(hostvars, server)
            if not _inside(address, mail_dmz):
                errors.append(
                    "the mail server %s of network %s has the address %s, outside its mail DMZ "
                    "%s: give it an address in the mail DMZ or correct mail_dmz."
                    % (server, name, address, network.get("mail_dmz")))
        for client in network.get("clients") or []:
            if not _inside(client, lan):
                errors.append("the clients entry %s of network %s lies outside its LAN %s: list "
                              "only LAN addresses or ranges." % (client, name, network.get("lan")))
        for gateway in network.get("gateways", []):
            zone = gateway.get("zone", "lan")
            allowed = mail_dmz if zone == "mail_dmz" else lan
            if not _inside(gateway.get("host"), allowed):
                errors.append("the gateway host %s for %s lies outside the %s zone of network %s: "
                              "correct its host or zone." % (gateway.get("host"), gateway.get("domain"),
                                                            zone, name))

    if relay in hostvars:
        address = _first_address(hostvars, relay)
        if not _inside(address, _networks_of(gateway_dmz)):
            errors.append("the relay %s has the address %s, outside topology_gateway_dmz %s: put "
                          "the relay into the gateway DMZ." % (relay, address, list(gateway_dmz)))
    else:
        errors.append("topology_relay %r is not in the inventory: add the relay host or correct "
                      "topology_relay." % relay)
    return errors


class FilterModule:
    def filters(self):
        return {
            "topology_zones": topology_zones,
            "topology_flows": topology_flows,
            "topology_recipients": topology_recipients,
            "topology_relay_domains": topology_relay_domains,
            "topology_mail_domains": topology_mail_domains,
            "topology_network_of": topology_network_of,
            "topology_errors": topology_errors,
        }
