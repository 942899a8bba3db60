"""The mail flows of M 5.116 with real messages.

Internal mail is delivered by the internal server and never leaves the
trusted network, also while the relay is down. Mail to and from the
internet passes the relay."""

import contextlib
import time

import pytest

from lab import imap_messages, journal, maildir_messages, submit, swaks, token, wait_for

pytestmark = [pytest.mark.mail_flows, pytest.mark.requirement("M5.116-internal-server")]


def test_internal_mail_stays_internal(lab, hosts, net, john, erika):
    """A user submits a message on port 587 from the LAN client to a
    colleague's alias in the same network. It arrives exactly once in the
    colleague's mailbox, read over IMAPS, without the relay's name anywhere
    in it, and the relay's journal names neither the alias nor the mailbox
    address."""
    started = time.time() - 1
    subject = token()
    result = submit(hosts[net["client"]], net["mail_fqdn"], john["address"], john["password"],
                    john["address"], erika["aliases"][0], subject)
    assert result.rc == 0, result.stdout

    messages = wait_for(lambda: imap_messages(hosts[net["client"]], net["mail_fqdn"],
                                              erika["address"], erika["password"], subject))
    assert len(messages) == 1
    assert "Received: from" in messages[0]
    assert lab["relay_fqdn"] not in messages[0]

    # Nothing of this message, not even its recipient, reaches the relay.
    relay_log = journal(hosts["relay"], started)
    assert erika["aliases"][0] not in relay_log
    assert erika["address"] not in relay_log


@pytest.mark.requirement("M5.116-2")
def test_inbound_mail_to_alias_reaches_mailbox(lab, hosts, net, erika):
    """Mail from the internet to an alias lands in the user's mailbox and
    the user reads it over IMAPS from the LAN."""
    subject = token()
    alias = erika["aliases"][-1]
    result = swaks(hosts["internet"], "--server", "127.0.0.1",
                   "--from", "alice@%s" % lab["internet_domain"], "--to", alias,
                   "--header", "Subject: " + subject)
    assert result.rc == 0, result.stdout

    messages = wait_for(lambda: imap_messages(hosts[net["client"]], net["mail_fqdn"],
                                              erika["address"], erika["password"], subject))
    assert len(messages) == 1, "expected one copy in %s" % erika["address"]
    assert "by %s" % lab["relay_fqdn"] in messages[0]


def test_role_address_reaches_every_member(lab, hosts, net, john, erika):
    """The inventory makes both users of the network members of the role
    address info@ of its domain. A message from the internet host to that
    address arrives exactly once in each member's mailbox, read over IMAPS
    from the LAN."""
    subject = token()
    role = "info@%s" % net["domain"]
    assert sorted(net["aliases"][role]) == sorted([john["address"], erika["address"]])
    result = swaks(hosts["internet"], "--server", "127.0.0.1",
                   "--from", "alice@%s" % lab["internet_domain"], "--to", role,
                   "--header", "Subject: " + subject)
    assert result.rc == 0, result.stdout

    for user in (john, erika):
        messages = wait_for(lambda: imap_messages(hosts[net["client"]], net["mail_fqdn"],
                                                  user["address"], user["password"], subject))
        assert len(messages) == 1, user["address"]


@pytest.mark.requirement("KIT-faults-lose-no-mail")
def test_repeated_message_is_stored_once(lab, hosts, net, john, erika):
    """A sender that did not see the confirmation sends the same message,
    with the same Message-ID, again. The mailbox stores it once and the
    Sieve rule logs the discarded copy. Another mailbox stores its own copy,
    a new message with a new Message-ID is stored too, and no write to the
    duplicate database has failed since the deploy."""
    mail = hosts[net["mail"]]
    since = int(mail.run("date +%s").stdout)
    subject = token()
    repeated = "<%s@%s>" % (subject, lab["internet_domain"])
    sent = [(john, repeated), (john, repeated), (erika, repeated),
            (john, "<%s-new@%s>" % (subject, lab["internet_domain"]))]
    for user, message_id in sent:
        result = swaks(hosts["internet"], "--server", "127.0.0.1",
                       "--from", "alice@%s" % lab["internet_domain"], "--to", user["address"],
                       "--header", "Subject: " + subject, "--header", "Message-Id: " + message_id)
        assert result.rc == 0, result.stdout

    def stored(user):
        return imap_messages(hosts[net["client"]], net["mail_fqdn"], user["address"], user["password"],
                             subject)

    # Both copies for john have reached Dovecot once the rule has logged
    # the discard. Only then is the count final.
    discarded = wait_for(lambda: journal(mail, since, "discard action"))
    assert repeated in discarded
    assert wait_for(lambda: len(stored(erika)) == 1)
    assert wait_for(lambda: len(stored(john)) == 2)
    copies = stored(john)
    assert sum(repeated in message for message in copies) == 1
    assert sum("<%s-new@" % subject in message for message in copies) == 1
    # Every mailbox's home exists before its first delivery, so no delivery
    # since the deploy went unrecorded.
    assert journal(mail, 0, "duplicate db") == ""


@contextlib.contextmanager
def relay_stopped(relay):
    relay.run("systemctl stop postfix.service")
    try:
        yield
    finally:
        relay.run("systemctl start postfix.service")


@pytest.mark.requirement("KIT-faults-lose-no-mail")
def test_internal_mail_flows_while_relay_is_down(lab, hosts, net, john, erika):
    """Internal mail is delivered without the relay; outbound mail waits in
    the internal server's queue and leaves when the relay is back."""
    internal, outbound = token(), token()
    mail = hosts[net["mail"]]
    with relay_stopped(hosts["relay"]):
        result = submit(hosts[net["client"]], net["mail_fqdn"], john["address"], john["password"],
                        john["address"], erika["address"], internal)
        assert result.rc == 0, result.stdout
        delivered = wait_for(lambda: imap_messages(hosts[net["client"]], net["mail_fqdn"],
                                                   erika["address"], erika["password"],
                                                   internal))
        assert len(delivered) == 1

        result = submit(hosts[net["client"]], net["mail_fqdn"], john["address"], john["password"],
                        john["address"], "alice@%s" % lab["internet_domain"], outbound)
        assert result.rc == 0, result.stdout
        deferred = wait_for(lambda: "connect to %s" % lab["relay_fqdn"] in
                            mail.run("postqueue -p").stdout, timeout=30)
        assert deferred, mail.run("postqueue -p").stdout

    mail.run("postqueue -f")
    maildir = "/home/%s/Maildir" % lab["internet_user"]
    arrived = wait_for(lambda: maildir_messages(hosts["internet"], maildir, outbound), timeout=60)
    assert arrived, "queued outbound message was not delivered after the relay came back"
