"""Changes take effect the way the daemon needs: a setting that Postfix
applies only at a restart gets a restart, other settings a reload, and a
second run changes nothing."""

import re

import pytest

from conftest import address_of
from lab import journal, run_site, smtp_dialogue, token

pytestmark = [pytest.mark.safe_changes, pytest.mark.requirement("KIT-changes-take-effect")]



def converge(tmp_path, limit, variables=None):
    """Run the site playbook on one host with extra variables; return the
    output, after checking that the run succeeded."""
    returncode, output = run_site(tmp_path, variables, "--limit", limit)
    assert returncode == 0, output[-3000:]
    return output


def master_pid(host):
    return host.file("/var/spool/postfix/pid/master.pid").content_string.strip()


def listening(host):
    lines = host.run("ss -Hltn 'sport = :25'").stdout.splitlines()
    return sorted({line.split()[3].rsplit(":", 1)[0] for line in lines})


def test_listen_address_change_restarts_postfix(tmp_path, lab, hosts):
    """A run of site.yml that sets the relay's inet_interfaces to its own
    address and 127.0.0.1 restarts Postfix: the restart handler runs, the
    master process is new, and Postfix listens on port 25 on exactly those
    two addresses. A run without the change restarts Postfix again, and it
    listens on all IPv4 addresses (0.0.0.0) again."""
    relay = hosts["relay"]
    address = address_of(lab, lab["relay"])
    before = master_pid(relay)

    output = converge(tmp_path, lab["relay"], {"mail_relay_inet_interfaces": [address, "127.0.0.1"]})
    assert "RUNNING HANDLER [mail_relay : Restart Postfix]" in output
    assert master_pid(relay) != before
    assert listening(relay) == sorted([address, "127.0.0.1"])

    restarted = master_pid(relay)
    output = converge(tmp_path, lab["relay"])
    assert "RUNNING HANDLER [mail_relay : Restart Postfix]" in output
    assert master_pid(relay) != restarted
    assert listening(relay) == ["0.0.0.0"]


def test_size_limit_change_reloads_postfix(tmp_path, lab, hosts):
    """A run of site.yml that sets the relay's message size limit to 1048576
    bytes reloads Postfix without a restart: the master process stays the
    same, and the EHLO reply to the internet host announces SIZE 1048576.
    After a run without the change, EHLO announces SIZE 26214400 again, from
    the same master process."""
    relay = hosts["relay"]
    before = master_pid(relay)

    output = converge(tmp_path, lab["relay"], {"mail_relay_message_size_limit": 1048576})
    assert "RUNNING HANDLER [mail_relay : Reload Postfix]" in output
    assert "Restart Postfix" not in output
    assert master_pid(relay) == before
    ehlo = smtp_dialogue(hosts["internet"], address_of(lab, lab["relay"]), 25, ["EHLO mx.test"])
    assert "SIZE 1048576" in ehlo[0][2].splitlines()

    output = converge(tmp_path, lab["relay"])
    ehlo = smtp_dialogue(hosts["internet"], address_of(lab, lab["relay"]), 25, ["EHLO mx.test"])
    assert "SIZE 26214400" in ehlo[0][2].splitlines()
    assert master_pid(relay) == before


def test_second_run_changes_nothing(tmp_path, lab):
    """Another run of site.yml on the relay succeeds, and its play recap
    shows changed=0."""
    output = converge(tmp_path, lab["relay"])
    changed = re.findall(r"changed=(\d+)", output)
    assert changed, output[-2000:]
    assert set(changed) == {"0"}, output[-2000:]


def test_changed_alias_table_is_rebuilt_and_removal_vanishes(tmp_path, lab, hosts, networks):
    """A new alias is in the compiled table as soon as the run ends, and
    gone from it after a run without it; Postfix never reads a table older
    than its source."""
    net = networks[0]
    mail = hosts[net["mail"]]
    started = int(mail.run("date +%s").stdout)
    alias = "audit-%s@%s" % (token()[-6:], net["domain"])
    target = net["users"][0]["address"]

    converge(tmp_path, net["mail"], {"mail_server_aliases": dict(net["aliases"], **{alias: [target]})})
    assert mail.run("postmap -q %s hash:/etc/postfix/virtual", alias).stdout.strip() == target

    converge(tmp_path, net["mail"])
    lookup = mail.run("postmap -q %s hash:/etc/postfix/virtual", alias)
    assert lookup.rc == 1, lookup.stdout
    assert lookup.stdout == ""
    assert "older than source" not in journal(mail, started)
