"""Jinja filters that check and render the packet filter role's zones and flows.

Every address check uses Python's ipaddress module, so a value that passes
here is also accepted by nft as an IPv4 address or prefix.
"""

import ipaddress
import json

from ansible.errors import AnsibleFilterError


def _as_list(values, filter_name):
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise AnsibleFilterError(
            f"{filter_name} expects a list, got {type(values).__name__}: {values!r}"
        )
    return list(values)


def _quote(value):
    """Format a value for an error message the way to_json shows it in YAML."""
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


def _parse_network(value):
    """Parse an IPv4 address or CIDR into an IPv4Network, or raise ValueError.

    A bare address becomes a /32. Host bits set after the prefix length
    (172.29.1.5/24) are an error, because they usually hide a typo.
    """
    if not isinstance(value, str):
        raise ValueError(f"{_quote(value)} is not a string")
    try:
        return ipaddress.IPv4Network(value.strip(), strict=True)
    except ipaddress.NetmaskValueError as error:
        raise ValueError(
            f"{_quote(value)} has an invalid prefix length ({error})"
        ) from None
    except ValueError as error:
        if "has host bits set" in str(error):
            network = ipaddress.IPv4Network(value.strip(), strict=False)
            raise ValueError(
                f"{_quote(value)} has host bits set (the network is {network})"
            ) from None
        raise ValueError(
            f"{_quote(value)} is not an IPv4 address or CIDR"
        ) from None


def packet_filter_network_errors(values):
    """Return an error message for each entry that is not an IPv4 address or CIDR."""
    errors = []
    for value in _as_list(values, "packet_filter_network_errors"):
        try:
            _parse_network(value)
        except ValueError as error:
            errors.append(str(error))
    return errors


def packet_filter_address_errors(values):
    """Return an error message for each entry that is not a single IPv4 address."""
    errors = []
    for value in _as_list(values, "packet_filter_address_errors"):
        try:
            ipaddress.IPv4Address(value if isinstance(value, str) else None)
        except ValueError:
            errors.append(f"{_quote(value)} is not an IPv4 address")
    return errors


def packet_filter_port_errors(ports):
    """Return the entries of ports that are not an integer from 1 to 65535.

    Digit strings such as "587" count as integers, because YAML and extra
    vars often carry port numbers as strings.
    """
    errors = []
    for port in _as_list(ports, "packet_filter_port_errors"):
        if isinstance(port, bool):
            errors.append(port)
        elif isinstance(port, int) and 1 <= port <= 65535:
            continue
        elif (
            isinstance(port, str)
            and port.isascii()
            and port.isdigit()
            and 1 <= int(port) <= 65535
        ):
            continue
        else:
            errors.append(port)
    return errors


def packet_filter_zone_overlaps(zones):
    """Return one error message per pair of CIDRs in different zones that overlap.

    Zones must be disjoint. Otherwise the drop log would name whichever zone
    pair matches first, and a host could belong to two zones. Entries that do
    not parse are skipped, so call packet_filter_network_errors first.
    """
    if not isinstance(zones, dict):
        raise AnsibleFilterError(
            f"packet_filter_zone_overlaps expects a dict, got {type(zones).__name__}"
        )
    parsed = []
    for zone, values in zones.items():
        for value in _as_list(values, "packet_filter_zone_overlaps"):
            try:
                parsed.append((zone, value, _parse_network(value)))
            except ValueError:
                continue

    overlaps = []
    for index, (zone, value, network) in enumerate(parsed):
        for other_zone, other_value, other_network in parsed[index + 1:]:
            if zone != other_zone and network.overlaps(other_network):
                overlaps.append(
                    f"zone {zone} {value} overlaps zone {other_zone} {other_value}"
                )
    return overlaps


def packet_filter_outside(values, networks):
    """Return the entries of values that are not inside any of networks.

    Entries of either list that do not parse are skipped.
    """
    parents = []
    for network in _as_list(networks, "packet_filter_outside"):
        try:
            parents.append(_parse_network(network))
        except ValueError:
            continue

    outside = []
    for value in _as_list(values, "packet_filter_outside"):
        try:
            candidate = _parse_network(value)
        except ValueError:
            continue
        if not any(candidate.subnet_of(parent) for parent in parents):
            outside.append(value)
    return outside


def packet_filter_host_lists(flows):
    """Return one item per from_hosts or to_hosts list that a flow sets.

    Each item has the keys flow (the flow's name), key (from_hosts or
    to_hosts), zone (the flow's from or to zone) and hosts (the list).
    """
    items = []
    for flow in _as_list(flows, "packet_filter_host_lists"):
        for key, zone_key in (("from_hosts", "from"), ("to_hosts", "to")):
            if key in flow:
                items.append(
                    {
                        "flow": flow.get("name"),
                        "key": key,
                        "zone": flow.get(zone_key),
                        "hosts": flow[key],
                    }
                )
    return items


def packet_filter_collapse(values):
    """Merge IPv4 addresses and CIDRs into the fewest sorted nft set elements.

    nft 1.0.6 rejects overlapping elements in a named interval set
    ("conflicting intervals specified"), so they are merged. Adjacent ones
    are merged too, which keeps the set short. A /32 becomes a bare address.
    """
    values = _as_list(values, "packet_filter_collapse")
    networks = [_parse_network(value) for value in values]
    return [
        str(network.network_address) if network.prefixlen == 32 else str(network)
        for network in ipaddress.collapse_addresses(networks)
    ]


def _names_own_address(hosts, addresses):
    """Return whether hosts lists one of addresses as a single address or a /32."""
    own = {ipaddress.IPv4Address(address) for address in addresses}
    for value in hosts or []:
        network = _parse_network(value)
        if network.prefixlen == 32 and network.network_address in own:
            return True
    return False


def packet_filter_chain(flow, addresses, forwarding):
    """Return the chain that a flow's accept rule belongs in on this host.

    The result is "input" when to_hosts names one of this host's addresses,
    otherwise "output" when from_hosts does, otherwise "forward" when the host
    forwards packets. It is "" when the flow does not concern this host.
    Only single addresses count, so a CIDR in to_hosts that contains this
    host's address does not make the flow an input flow.
    """
    addresses = _as_list(addresses, "packet_filter_chain")
    if _names_own_address(flow.get("to_hosts"), addresses):
        return "input"
    if _names_own_address(flow.get("from_hosts"), addresses):
        return "output"
    if forwarding:
        return "forward"
    return ""


class FilterModule:
    """Filters used by the packet_filter role's validation tasks and templates."""

    def filters(self):
        return {
            "packet_filter_network_errors": packet_filter_network_errors,
            "packet_filter_address_errors": packet_filter_address_errors,
            "packet_filter_port_errors": packet_filter_port_errors,
            "packet_filter_zone_overlaps": packet_filter_zone_overlaps,
            "packet_filter_outside": packet_filter_outside,
            "packet_filter_host_lists": packet_filter_host_lists,
            "packet_filter_collapse": packet_filter_collapse,
            "packet_filter_chain": packet_filter_chain,
        }
