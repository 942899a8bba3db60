"""Checklist item 3: every communication link to the mail server, internal
and external, meets the security requirements: TLS 1.2 or newer, verified
certificates between the servers, authentication only over TLS, no open
relay."""

import contextlib
import json
import re
import time

import pytest

from conftest import address_of
from lab import (CA_PATH, journal, maildir_subjects, python, queue_ids, record, send_counted, submit, swaks,
                 token, wait_for)

pytestmark = [pytest.mark.secure_links, pytest.mark.requirement("M5.116-3")]

_SUBMISSION_SCRIPT = """
import json, smtplib, ssl, sys
host, user, password = sys.argv[1:4]
report = {}
with smtplib.SMTP(host, 587, timeout=15) as smtp:
    smtp.ehlo("client.test")
    report["auth_before_tls"] = smtp.has_extn("auth")
    report["auth_attempt"] = list(smtp.docmd("AUTH", "PLAIN AHRlc3QAdGVzdA=="))
    smtp.starttls(context=ssl.create_default_context(cafile=%r))
    smtp.ehlo("client.test")
    report["auth_after_tls"] = smtp.esmtp_features.get("auth", "")
    try:
        smtp.login(user, password + "-wrong")
        report["wrong_password"] = "accepted"
    except smtplib.SMTPAuthenticationError as error:
        report["wrong_password"] = error.smtp_code
print(json.dumps(report, default=str))
""" % CA_PATH


@pytest.mark.requirement("APP.5.3.A2")
def test_submission_offers_auth_only_after_starttls(lab, hosts, net, john):
    """From a LAN client, submission on port 587 offers no AUTH before
    STARTTLS and rejects an AUTH attempt there with 530. After STARTTLS,
    with the certificate verified against the internal CA, it offers AUTH
    PLAIN and rejects a wrong password with 535."""
    result = python(hosts[net["client"]], _SUBMISSION_SCRIPT, net["mail_fqdn"],
                    john["address"], john["password"])
    assert result.rc == 0, result.stderr
    report = json.loads(result.stdout)

    assert report["auth_before_tls"] is False
    assert report["auth_attempt"][0] == 530, report["auth_attempt"]
    assert "PLAIN" in report["auth_after_tls"]
    assert report["wrong_password"] == 535


@pytest.mark.requirement("APP.5.3.A2")
def test_submission_rejects_unauthenticated_mail(lab, hosts, net):
    """From a LAN client that has not logged in, submission on port 587
    rejects a message to the internet, even after STARTTLS. The reply to
    MAIL FROM or RCPT TO is 553 or 554 5.7.1, and the message is not queued."""
    # swaks goes on to DATA if MAIL FROM and RCPT TO are accepted, so an
    # open submission port would show "queued" here.
    result = swaks(hosts[net["client"]], "--server", net["mail_fqdn"], "--port", "587",
                   "--tls", "--tls-ca-path", CA_PATH,
                   "--from", "john.doe@%s" % net["domain"],
                   "--to", "alice@%s" % lab["internet_domain"])
    # Postfix refuses at MAIL FROM (sender not logged in) or at RCPT.
    assert re.search(r"<~\*? 55[34] 5\.7\.1 ", result.stdout), result.stdout
    assert "Ok: queued" not in result.stdout


@pytest.mark.requirement("APP.5.3.A2")
def test_submission_rejects_foreign_sender(lab, hosts, net, john):
    """A logged-in user may only send with the user's own addresses."""
    result = submit(hosts[net["client"]], net["mail_fqdn"], john["address"], john["password"],
                    "erika.mustermann@%s" % net["domain"],
                    "alice@%s" % lab["internet_domain"], token())
    assert "553 5.7.1" in result.stdout, result.stdout


@pytest.mark.requirement("APP.5.3.A2")
def test_imaps_login_works(lab, hosts, net, erika):
    """From a LAN client, a user logs in over IMAPS on port 993, after the
    client has verified the mail server's certificate against the internal
    CA."""
    login = python(hosts[net["client"]], """
import imaplib, ssl, sys
context = ssl.create_default_context(cafile=%r)
with imaplib.IMAP4_SSL(sys.argv[1], 993, ssl_context=context, timeout=10) as imap:
    print(imap.login(sys.argv[2], sys.argv[3])[0])
""" % CA_PATH, net["mail_fqdn"], erika["address"], erika["password"])
    assert login.stdout.strip() == "OK", login.stderr


@pytest.mark.requirement("APP.5.3.A2")
def test_plain_ports_closed_unless_opened(lab, hosts, net):
    """IMAP 143 and POP3 110 do not listen, also not on loopback, unless
    the network opens them for STARTTLS clients."""
    local = hosts[net["mail"]].run("ss -Hltn '( sport = :143 or sport = :110 )'").stdout
    listening = sorted({int(line.split()[3].rsplit(":", 1)[1]) for line in local.splitlines()})
    assert listening == sorted(port for port in (110, 143) if port in net["user_ports"])


def test_imaps_rejects_wrong_password(lab, hosts, net, erika):
    """From a LAN client, an IMAPS login on port 993 with a wrong password
    is rejected."""
    result = python(hosts[net["client"]], """
import imaplib, ssl, sys
context = ssl.create_default_context(cafile=%r)
with imaplib.IMAP4_SSL(sys.argv[1], 993, ssl_context=context, timeout=10) as imap:
    try:
        imap.login(sys.argv[2], sys.argv[3])
        print("accepted")
    except imaplib.IMAP4.error:
        print("rejected")
""" % CA_PATH, net["mail_fqdn"], erika["address"], "not-the-password")
    assert result.stdout.strip() == "rejected", result.stderr


# (client host, server host, port, STARTTLS protocol or None). "mail" and
# "client" stand for the tested network's mail server and workstation.
TLS_ENDPOINTS = [
    ("internet", "relay", 25, "smtp"),
    ("relay", "mail", 25, "smtp"),
    ("client", "mail", 587, "smtp"),
    ("client", "mail", 993, None),
]


def tls_handshake(host, address, port, starttls, version):
    """Try a TLS handshake with one protocol version; return (ok, output).

    SECLEVEL=0 lets OpenSSL 3 offer TLS 1.0 and 1.1, so a failed handshake
    means the server refused, not the client."""
    command = ("echo | timeout 15 openssl s_client -connect %s:%d -%s "
               "-cipher DEFAULT:@SECLEVEL=0 -CAfile %s" % (address, port, version, CA_PATH))
    if starttls:
        command += " -starttls " + starttls
    result = host.run(command)
    output = result.stdout + result.stderr
    negotiated = "Protocol  : " in output or "New, TLSv" in output
    ok = result.rc == 0 and negotiated and "Cipher is (NONE)" not in output
    record(host, "%s:%d" % (address, port), "TLS handshake with openssl, %s only%s"
           % (version, ", STARTTLS " + starttls if starttls else ""), "accepted" if ok else "refused")
    return ok, output


@pytest.mark.requirement("TR-02102-2/tls")
@pytest.mark.parametrize("client,server,port,starttls", TLS_ENDPOINTS)
def test_tls_below_1_2_refused(lab, hosts, net, client, server, port, starttls):
    """Each TLS endpoint, probed from the zone of its clients, fails a
    handshake limited to TLS 1.0 or to TLS 1.1 and completes one with TLS
    1.2. The endpoints are the relay's port 25 from the internet, and the
    mail server's port 25 from the relay and ports 587 and 993 from a LAN
    client."""
    client, server = net.get(client, client), net.get(server, server)
    address = address_of(lab, server)
    for version in ("tls1", "tls1_1"):
        ok, output = tls_handshake(hosts[client], address, port, starttls, version)
        assert not ok, "%s:%d accepted %s\n%s" % (server, port, version, output[-600:])

    ok, output = tls_handshake(hosts[client], address, port, starttls, "tls1_2")
    assert ok, "%s:%d refused TLS 1.2\n%s" % (server, port, output[-600:])


@pytest.mark.requirement("TR-03108-1/starttls")
def test_relay_links_use_verified_tls(lab, hosts, net, john):
    """Both hops between relay and mail server log a verified TLS session."""
    started = time.time() - 1
    subject = token()
    result = submit(hosts[net["client"]], net["mail_fqdn"], john["address"], john["password"],
                    john["address"], "alice@%s" % lab["internet_domain"], subject)
    assert result.rc == 0, result.stdout
    inbound = swaks(hosts["internet"], "--server", "127.0.0.1",
                    "--from", "alice@%s" % lab["internet_domain"],
                    "--to", john["address"], "--header", "Subject: " + subject)
    assert inbound.rc == 0, inbound.stdout

    outward = "Verified TLS connection established to %s" % lab["relay_fqdn"]
    inward = "Verified TLS connection established to %s" % net["mail_fqdn"]
    assert wait_for(lambda: journal(hosts[net["mail"]], started, outward), timeout=60)
    assert wait_for(lambda: journal(hosts["relay"], started, inward), timeout=60)


def connection_uses(host, since, ids):
    """Return conn_use by queue id for the messages in ids that host sent
    since a time: the number of messages the connection had carried, this
    one included, so 1 for a new connection."""
    uses = {}
    for line in journal(host, since, "status=sent").splitlines():
        sent = re.search(r": ([0-9A-F]+): to=<.*?(?:conn_use=(\d+), )?delay=", line)
        if sent and sent.group(1) in ids:
            uses[sent.group(1)] = int(sent.group(2) or 1)
    return uses


def tls_sessions(host, since):
    """Return how many TLS sessions host's smtpd accepted since a time."""
    return len(journal(host, since, "TLS connection established from").splitlines())


def all_deferred(host, subject, count):
    """Return the queue ids of the messages that contain the token when all
    count of them are in host's deferred queue, else an empty list."""
    ids = queue_ids(host, subject, queue="deferred")
    return ids if len(ids) == count else []


@pytest.mark.requirement("TR-03108-1/starttls")
def test_queued_burst_reuses_tls_sessions(lab, hosts, net, john):
    """A burst of outbound mail that waited in the queues crosses both
    server links over fewer TLS sessions than messages, and every message
    still arrives with a TLS entry for each link in its Received headers."""
    count = 30
    prefix = token()
    recipient = "%s@%s" % (lab["internet_user"], lab["internet_domain"])
    maildir = "/home/%s/Maildir" % lab["internet_user"]
    mail, relay, internet = hosts[net["mail"]], hosts["relay"], hosts["internet"]
    messages = [(recipient, "%s-%02d" % (prefix, number)) for number in range(count)]

    # With the next hop stopped, every message ends in the deferred queue.
    # A flush then hands the queue manager the whole burst at once, and
    # Postfix caches connections to a destination with a backlog.
    assert relay.run("systemctl stop postfix.service").rc == 0
    assert internet.run("systemctl stop postfix.service").rc == 0
    try:
        accepted = send_counted(hosts[net["client"]], net["mail_fqdn"], 587, john["address"], messages,
                                john["address"], john["password"])
        assert accepted == count, "the mail server accepted %d of %d messages" % (accepted, count)
        on_mail = wait_for(lambda: all_deferred(mail, prefix, count), timeout=90)
        assert on_mail, "the mail server did not defer all %d messages" % count

        to_relay = time.time() - 1
        assert relay.run("systemctl start postfix.service").rc == 0
        mail.run("postqueue -f")
        on_relay = wait_for(lambda: all_deferred(relay, prefix, count), timeout=120)
        assert on_relay, "the relay did not defer all %d messages" % count

        to_internet = time.time() - 1
        assert internet.run("systemctl start postfix.service").rc == 0
        relay.run("postqueue -f")
        assert wait_for(lambda: len(maildir_subjects(internet, maildir, prefix)) == count, timeout=120), \
            "not all %d messages reached the internet mailbox" % count
    finally:
        relay.run("systemctl start postfix.service")
        internet.run("systemctl start postfix.service")
        mail.run("postqueue -f")
        relay.run("postqueue -f")

    mail_uses = connection_uses(mail, to_relay, on_mail)
    assert len(mail_uses) == count, mail_uses
    assert max(mail_uses.values()) >= 2, "the mail server opened a new connection for every message"
    # Only the mail server sends to the relay, and only the relay to the
    # internet host, while the burst crosses.
    relay_sessions = tls_sessions(relay, to_relay)
    assert relay_sessions < count, "the relay accepted %d TLS sessions for %d messages" % (relay_sessions, count)

    relay_uses = connection_uses(relay, to_internet, on_relay)
    assert len(relay_uses) == count, relay_uses
    assert max(relay_uses.values()) >= 2, "the relay opened a new connection for every message"
    internet_sessions = tls_sessions(internet, to_internet)
    assert internet_sessions < count, \
        "the internet host accepted %d TLS sessions for %d messages" % (internet_sessions, count)

    # smtpd_tls_received_header: the relay and the internet host each write
    # the TLS protocol of the link into the Received header they add.
    headers = internet.run("grep -lF -- %s %s/new/* | xargs -r -n1 sed -n '1,/^$/p'", prefix, maildir).stdout
    per_message = headers.split("Return-Path:")[1:]
    assert len(per_message) == count, headers[-2000:]
    for header in per_message:
        received = [field for field in re.sub(r"\n[ \t]+", " ", header).splitlines()
                    if field.startswith("Received:")]
        for receiver in (lab["relay_fqdn"], lab["fqdns"]["internet"]):
            added = [field for field in received if " by %s (Postfix)" % receiver in field]
            assert len(added) == 1, received
            assert re.search(r"\(using TLSv1\.[23] ", added[0]), added[0]


# The deferral reason Postfix gives when a "secure" peer fails verification.
UNVERIFIED = re.compile(r"Server certificate not (trusted|verified)")


@contextlib.contextmanager
def untrusted_certificate(host):
    """Serve a self-signed certificate, not signed by the internal CA, on
    host's SMTP server for the duration of the block."""
    original = host.run("postconf -h smtpd_tls_cert_file smtpd_tls_key_file").stdout.split()
    generated = host.run(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
        "-subj /CN=$(hostname -f) -keyout /root/untrusted.key -out /root/untrusted.pem "
        "&& postconf -e smtpd_tls_cert_file=/root/untrusted.pem "
        "smtpd_tls_key_file=/root/untrusted.key && postfix reload")
    assert generated.rc == 0, generated.stderr
    try:
        yield
    finally:
        restored = host.run("postconf -e smtpd_tls_cert_file=%s smtpd_tls_key_file=%s "
                            "&& postfix reload && rm -f /root/untrusted.*",
                            original[0], original[1])
        assert restored.rc == 0, restored.stderr


def send_outbound(lab, hosts, net, john, subject):
    """A user submits mail to the internet: the mail server sends it to the
    relay. Returns the host that queues it and a check for its arrival."""
    result = submit(hosts[net["client"]], net["mail_fqdn"], john["address"], john["password"],
                    john["address"], "alice@%s" % lab["internet_domain"], subject)
    assert result.rc == 0, result.stdout
    maildir = "/home/%s/Maildir" % lab["internet_user"]
    return hosts[net["mail"]], lambda: hosts["internet"].run("grep -rlF -- %s %s", subject, maildir).stdout


def send_inbound(lab, hosts, net, john, subject):
    """The internet sends mail to a user: the relay sends it to the mail
    server. Returns the host that queues it and a check for its arrival."""
    result = swaks(hosts["internet"], "--server", "127.0.0.1",
                   "--from", "alice@%s" % lab["internet_domain"],
                   "--to", john["address"], "--header", "Subject: " + subject)
    assert result.rc == 0, result.stdout
    mailbox = "/var/vmail/%s/%s/Maildir" % (net["domain"], john["address"].split("@")[0])
    return hosts["relay"], lambda: hosts[net["mail"]].run("grep -rlF -- %s %s", subject, mailbox).stdout


@pytest.mark.parametrize("receiver,send", [("relay", send_outbound), ("mail", send_inbound)],
                         ids=["mail-to-relay", "relay-to-mail"])
@pytest.mark.requirement("TR-03108-1/starttls", "KIT-faults-lose-no-mail")
def test_unverified_peer_holds_mail_in_queue(lab, hosts, net, john, receiver, send):
    """When the receiving server's certificate is not from the internal CA,
    the sender keeps the message queued instead of sending it unverified,
    and delivers it once the right certificate is back."""
    subject = token()
    with untrusted_certificate(hosts[net.get(receiver, receiver)]):
        sender, arrived = send(lab, hosts, net, john, subject)
        assert wait_for(lambda: queue_ids(sender, subject), timeout=30), \
            "the message was neither queued nor delivered"
        reason = wait_for(lambda: UNVERIFIED.search(sender.run("postqueue -p").stdout), timeout=30)
        assert reason, sender.run("postqueue -p").stdout
        assert not arrived(), "the message was delivered to an unverified server"

    sender.run("postqueue -f")
    assert wait_for(arrived, timeout=60), \
        "the queued message was not delivered after the certificate was restored"
