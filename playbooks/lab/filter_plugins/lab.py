"""Filters that turn the lab inventory into Docker container settings."""


def lab_container_networks(interfaces, prefix):
    """Return docker_container "networks" entries for a host's interfaces."""
    return [
        {"name": prefix + interface["zone"], "ipv4_address": interface["address"]}
        for interface in interfaces
    ]


def lab_host_names(hosts):
    """Map each host's FQDN to its first address, for /etc/hosts."""
    return {
        host["topology_fqdn"]: host["topology_interfaces"][0]["address"]
        for host in hosts
        if "topology_fqdn" in host
    }


class FilterModule:
    def filters(self):
        return {
            "lab_container_networks": lab_container_networks,
            "lab_host_names": lab_host_names,
        }
