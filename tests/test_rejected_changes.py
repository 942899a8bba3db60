"""A change that the daemon's own check rejects keeps the old service.

Each test pushes a value that passes the preflight, because only the daemon
can judge it, and that the daemon's checker rejects: an nft rule with a
typo, a Postfix number with a unit, a Dovecot number in words. The run
must stop on that host, and the running daemon, its files and its
behaviour must stay as they were."""

import pytest

from conftest import address_of
from lab import imap_subjects, probe_ports, python, run_site, send_counted, token, wait_for

pytestmark = [pytest.mark.safe_changes, pytest.mark.requirement("KIT-bad-change-keeps-service")]


def checksum(host, path):
    return host.run("sha256sum %s", path).stdout.split()[0]


def main_pid(host, unit):
    return host.run("systemctl show --value -p MainPID %s", unit).stdout.strip()


def test_rejected_nft_rule_keeps_the_loaded_ruleset(tmp_path, lab, hosts, networks):
    """A run of site.yml limited to the inner packet filter adds a forward
    rule with a typo. The rule passes the preflight, but nft rejects it with
    a syntax error. The run fails, the loaded ruleset and /etc/nftables.conf
    stay unchanged, and a LAN client still gets no reply from port 25 of the
    relay but connects to port 587 of its mail server."""
    net = networks[0]
    packet_filter = hosts["inner-pf"]
    # -s leaves out counters, which change with every packet.
    loaded = packet_filter.run("nft -s list table inet mailgw").stdout
    saved = checksum(packet_filter, "/etc/nftables.conf")

    typo = "ip saddr %s icmp type echo-request acept" % net["lan"][0]
    returncode, output = run_site(tmp_path, {"packet_filter_extra_rules": {"forward": [typo]}},
                                  "--limit", "inner-pf")

    assert returncode != 0, output[-2000:]
    assert "Render the nftables ruleset" in output
    assert "Error: syntax error" in output, output[-3000:]
    assert packet_filter.run("nft -s list table inet mailgw").stdout == loaded
    assert checksum(packet_filter, "/etc/nftables.conf") == saved
    # The old policy still drops what no flow allows and passes the flows.
    client = hosts[net["client"]]
    assert probe_ports(client, address_of(lab, lab["relay"]), [25]) == {25: "filtered"}
    assert probe_ports(client, address_of(lab, net["mail"], net["mail_dmz_zone"]), [587]) == {587: "open"}


def test_rejected_postfix_value_keeps_postfix_running(tmp_path, lab, hosts, networks):
    """A run of site.yml limited to the relay sets header_size_limit to
    "100k", which Postfix rejects as a bad number. The run fails, main.cf
    and the Postfix master process stay unchanged, the effective limit stays
    102400, and a message from the internet host to the relay's port 25
    still reaches the user's mailbox."""
    net = networks[0]
    relay = hosts["relay"]
    pid = main_pid(relay, "postfix@-.service")
    saved = checksum(relay, "/etc/postfix/main.cf")

    returncode, output = run_site(tmp_path, {"mail_relay_postconf_extra": {"header_size_limit": "100k"}},
                                  "--limit", lab["relay"])

    assert returncode != 0, output[-2000:]
    assert "bad numerical configuration: header_size_limit = 100k" in output, output[-3000:]
    assert checksum(relay, "/etc/postfix/main.cf") == saved
    assert main_pid(relay, "postfix@-.service") == pid
    assert relay.run("postconf -h header_size_limit").stdout.strip() == "102400"
    # Mail from the internet still passes the relay to the mailbox.
    john = net["users"][0]
    subject = token()
    accepted = send_counted(hosts["internet"], address_of(lab, lab["relay"]), 25,
                            "alice@%s" % lab["internet_domain"], [(john["address"], subject)])
    assert accepted == 1
    assert wait_for(lambda: imap_subjects(hosts[net["client"]], net["mail_fqdn"], john["address"],
                                          john["password"], subject=subject)) == [subject]


def test_rejected_dovecot_value_keeps_dovecot_running(tmp_path, lab, hosts, networks):
    """A run of site.yml limited to the mail server sets
    mail_max_userip_connections to "many", which Dovecot rejects as an
    invalid number. The run fails, dovecot.conf and the Dovecot main process
    stay unchanged, and a message that a user submits on port 587 still
    reaches the recipient, who reads it over IMAPS."""
    net = networks[0]
    mail = hosts[net["mail"]]
    pid = main_pid(mail, "dovecot.service")
    saved = checksum(mail, "/etc/dovecot/dovecot.conf")

    returncode, output = run_site(tmp_path, {"mail_server_dovecot_extra": {"mail_max_userip_connections": "many"}},
                                  "--limit", net["mail"])

    assert returncode != 0, output[-2000:]
    assert "Invalid number many" in output, output[-3000:]
    assert checksum(mail, "/etc/dovecot/dovecot.conf") == saved
    assert main_pid(mail, "dovecot.service") == pid
    # Users still submit mail and read it over IMAPS.
    john, erika = net["users"][:2]
    subject = token()
    accepted = send_counted(hosts[net["client"]], net["mail_fqdn"], 587, john["address"],
                            [(erika["address"], subject)], user=john["address"], password=john["password"])
    assert accepted == 1
    assert wait_for(lambda: imap_subjects(hosts[net["client"]], net["mail_fqdn"], erika["address"],
                                          erika["password"], subject=subject)) == [subject]


def test_ruleset_replacement_is_one_transaction(hosts):
    """nft monitor prints every change of the ruleset and a "new generation"
    line after each committed transaction. A reload must delete and add the
    table, and every rule, within one generation, so there is no moment
    with an empty or half-loaded ruleset."""
    packet_filter = hosts["inner-pf"]
    events = packet_filter.run(
        "nft monitor > /tmp/nft-monitor.log 2>&1 & monitor=$!; sleep 1; "
        "systemctl reload nftables.service; sleep 1; kill $monitor; cat /tmp/nft-monitor.log"
    ).stdout.splitlines()

    generations = [index for index, line in enumerate(events) if line.startswith("# new generation")]
    assert len(generations) == 1, "\n".join(events)
    assert generations[0] == len(events) - 1, "events after the commit:\n" + "\n".join(events)
    assert "delete table inet mailgw" in events
    assert "add table inet mailgw" in events
    assert any(line.startswith("add rule inet mailgw forward") for line in events)
    assert any(line.startswith("add chain inet mailgw forward") for line in events)


_HAMMER_SCRIPT = """
import concurrent.futures, socket, sys, time
address, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + seconds
def attempts():
    counts = {"open": 0, "refused": 0, "filtered": 0}
    while time.monotonic() < deadline:
        sock = socket.socket()
        sock.settimeout(0.3)
        try:
            sock.connect((address, port))
            counts["open"] += 1
        except ConnectionRefusedError:
            counts["refused"] += 1
        except OSError:
            counts["filtered"] += 1
        finally:
            sock.close()
    return counts
with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
    results = list(pool.map(lambda _: attempts(), range(16)))
print(" ".join("%s=%d" % (key, sum(r[key] for r in results)) for key in ("open", "refused", "filtered")))
"""


def test_reloads_never_open_the_filter(lab, hosts, networks):
    """While the ruleset is loaded again and again, a LAN host keeps trying
    to reach the relay's port 25, which no flow allows from the LAN. Not
    one attempt may get through or be refused by the relay."""
    net = networks[0]
    packet_filter = hosts["inner-pf"]
    packet_filter.run("rm -f /tmp/reloads.log; (for i in $(seq 40); do nft -f /etc/nftables.conf "
                      "&& echo loaded; sleep 0.1; done) > /tmp/reloads.log 2>&1 &")
    result = python(hosts[net["client"]], _HAMMER_SCRIPT, address_of(lab, lab["relay"]), 25, 8)
    assert result.rc == 0, result.stderr
    counts = dict(pair.split("=") for pair in result.stdout.split())

    assert wait_for(lambda: packet_filter.run("grep -c loaded /tmp/reloads.log").stdout.strip() == "40",
                    timeout=30), packet_filter.run("cat /tmp/reloads.log").stdout
    assert counts["open"] == "0", counts
    assert counts["refused"] == "0", counts
    assert int(counts["filtered"]) > 100, counts
