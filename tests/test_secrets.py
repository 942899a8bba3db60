"""Secrets stay secret: private keys and password hashes are files only
their daemon can read, and a run with --diff shows neither a password, a
hash nor a key."""

import pytest

from lab import run_site

pytestmark = [pytest.mark.safe_changes, pytest.mark.requirement("KIT-secrets-private")]

NEW_PASSWORD = "Changed-Secret-4711-never-shown"


@pytest.mark.parametrize("path,owner", [("/etc/ssl/private/mailgw.key", "root"),
                                        ("/etc/dovecot/users", "dovecot")])
def test_secret_file_is_private(hosts, net, path, owner):
    """On the mail server, the private TLS key belongs to root and the
    Dovecot user database with the password hashes to dovecot, and neither
    file grants group or others any permission."""
    secret = hosts[net["mail"]].file(path)
    assert secret.exists, path
    assert secret.user == owner
    assert secret.mode & 0o077 == 0, oct(secret.mode)


def test_relay_key_is_private(hosts):
    """The relay's private TLS key belongs to root and grants group or
    others no permission."""
    key = hosts["relay"].file("/etc/ssl/private/mailgw.key")
    assert key.user == "root"
    assert key.mode & 0o077 == 0, oct(key.mode)


def test_key_directory_is_closed(hosts, net):
    """On the relay and the mail server, the directory of the private TLS
    key belongs to root, and others can neither list nor enter it."""
    for name in ("relay", net["mail"]):
        directory = hosts[name].file("/etc/ssl/private")
        assert directory.user == "root", name
        assert directory.mode & 0o007 == 0, "%s: %s" % (name, oct(directory.mode))
        listing = hosts[name].run("runuser -u nobody -- ls /etc/ssl/private")
        assert listing.rc != 0, "%s: nobody listed %s" % (name, listing.stdout.split())
        assert "Permission denied" in listing.stderr, listing.stderr


def test_diff_shows_no_secret(tmp_path, lab, hosts, net):
    """A dry run that would change a password prints no password, hash or
    key, and leaves no trace of the password in the host's journal."""
    users = [dict(user) for user in net["users"]]
    users[0]["password"] = NEW_PASSWORD
    returncode, output = run_site(tmp_path, {"mail_server_users": users},
                                  "--limit", net["mail"], "--check", "--diff")
    assert returncode == 0, output[-3000:]
    assert "Render the Dovecot user database" in output
    assert NEW_PASSWORD not in output
    assert "$6$" not in output
    assert "PRIVATE KEY" not in output
    assert NEW_PASSWORD not in hosts[net["mail"]].run("journalctl --no-pager").stdout
