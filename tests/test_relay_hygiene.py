"""No open relay, no authentication where it does not belong, no plain-text
login, and no SMTP smuggling: real SMTP, IMAP and POP3 conversations from
each zone, each with the exact reply the rule demands."""

import time

import pytest

from conftest import address_of
from lab import (CA_PATH, imap_messages, journal, python, smtp_dialogue, swaks, token,
                 wait_for)

pytestmark = [pytest.mark.secure_links, pytest.mark.requirement("M5.116-3", "APP.5.3.A2")]

FOREIGN = "victim@foreign.example"

# Conversations from the internet with the relay on port 25. Each case has
# the commands after the greeting and the reply the last one must get.
# {domain} is a relayed domain, {user} one of its users, {sender} an
# outside sender; {relay} and {relay_ip} name the relay.
RELAY_CASES = [
    ("helo-with-relay-name", ["HELO {relay}", "MAIL FROM:<{sender}>", "RCPT TO:<%s>" % FOREIGN],
     "554 5.7.1 <%s>: Relay access denied" % FOREIGN),
    ("helo-with-relay-address", ["HELO [{relay_ip}]", "MAIL FROM:<{sender}>", "RCPT TO:<%s>" % FOREIGN],
     "554 5.7.1 <%s>: Relay access denied" % FOREIGN),
    ("helo-localhost", ["HELO localhost", "MAIL FROM:<{sender}>", "RCPT TO:<%s>" % FOREIGN],
     "554 5.7.1 <%s>: Relay access denied" % FOREIGN),
    ("subdomain-of-relayed-domain", ["EHLO mx.test", "MAIL FROM:<{sender}>", "RCPT TO:<{user}@sub.{domain}>"],
     "554 5.7.1 <{user}@sub.{domain}>: Relay access denied"),
    ("percent-hack", ["EHLO mx.test", "MAIL FROM:<{sender}>", "RCPT TO:<victim%foreign.example@{domain}>"],
     "554 5.7.1 <victim%foreign.example@{domain}>: Relay access denied"),
    ("source-route", ["EHLO mx.test", "MAIL FROM:<{sender}>", "RCPT TO:<@{domain}:%s>" % FOREIGN],
     "554 5.7.1 <%s>: Relay access denied" % FOREIGN),
    ("bang-path", ["EHLO mx.test", "MAIL FROM:<{sender}>", "RCPT TO:<foreign.example!victim@{domain}>"],
     "554 5.7.1 <foreign.example!victim@{domain}>: Relay access denied"),
    ("quoted-local-part", ["EHLO mx.test", "MAIL FROM:<{sender}>", 'RCPT TO:<"%s"@{domain}>' % FOREIGN],
     "554 5.7.1 <%s@{domain}>: Relay access denied" % FOREIGN),
    ("unknown-recipient", ["EHLO mx.test", "MAIL FROM:<{sender}>", "RCPT TO:<nobody-here@{domain}>"],
     "550 5.1.1 <nobody-here@{domain}>: Recipient address rejected: User unknown in relay recipient table"),
    ("internal-sender-from-internet", ["EHLO mx.test", "MAIL FROM:<{user}@{domain}>", "RCPT TO:<{user}@{domain}>"],
     "554 5.7.1 <{user}@{domain}>: Sender address rejected: sender domain is internal but the client is outside"),
    ("vrfy", ["EHLO mx.test", "VRFY {user}@{domain}"], "502 5.5.1 VRFY command is disabled"),
    ("mail-before-helo", ["MAIL FROM:<{sender}>"], "503 5.5.1 Error: send HELO/EHLO first"),
    ("message-over-size-limit", ["EHLO mx.test", "MAIL FROM:<{sender}> SIZE=26214401"],
     "552 5.3.4 Message size exceeds fixed limit"),
    ("auth-on-port-25", ["EHLO mx.test", "AUTH PLAIN AGFsaWNlAHNlY3JldA=="],
     "503 5.5.1 Error: authentication not enabled"),
    ("auth-on-port-25-after-starttls", ["EHLO mx.test", "STARTTLS", "EHLO mx.test", "AUTH PLAIN AGFsaWNlAHNlY3JldA=="],
     "503 5.5.1 Error: authentication not enabled"),
]


def fill(text, lab, net):
    return text.format(domain=net["domain"], user=net["users"][0]["address"].split("@")[0],
                       sender="alice@" + lab["internet_domain"], relay=lab["relay_fqdn"],
                       relay_ip=address_of(lab, lab["relay"]))


def reply(replies):
    """The last reply of a conversation as "code text", one line."""
    _step, code, text = replies[-1]
    return ("%d %s" % (code, text)).replace("\n", " ")


@pytest.mark.parametrize("steps,expected", [case[1:] for case in RELAY_CASES],
                         ids=[case[0] for case in RELAY_CASES])
def test_relay_from_internet(lab, hosts, net, steps, expected):
    """Each SMTP conversation from the internet host with the relay on port
    25 ends with exactly the expected rejection. The relay passes nothing to
    a foreign domain, also when the client greets with the relay's own name,
    its address or localhost. Percent hacks, source routes, bang paths,
    subdomains of relayed domains and quoted local parts do not get through
    either. The relay also rejects an unknown recipient, an internal sender
    from outside, VRFY, MAIL before HELO, a message over the size limit, and
    AUTH before and after STARTTLS."""
    replies = smtp_dialogue(hosts["internet"], address_of(lab, lab["relay"]), 25,
                            [fill(step, lab, net) for step in steps])
    assert reply(replies) == fill(expected, lab, net), replies


def test_relay_announces_size_limit_and_no_auth(lab, hosts):
    """The EHLO reply states the size limit and offers no AUTH, before and
    after STARTTLS."""
    replies = smtp_dialogue(hosts["internet"], address_of(lab, lab["relay"]), 25,
                            ["EHLO mx.test", "STARTTLS", "EHLO mx.test"])
    before, after = replies[0][2].splitlines(), replies[2][2].splitlines()
    assert "SIZE 26214400" in before, before
    assert "STARTTLS" in before, before
    assert not [line for line in before + after if line.startswith("AUTH")], (before, after)


def test_mail_server_port_25_offers_no_auth(lab, hosts, net):
    """Port 25 of the internal server, where only the relay delivers: TLS
    first, and no AUTH even after STARTTLS."""
    replies = smtp_dialogue(hosts["relay"], address_of(lab, net["mail"]), 25,
                            ["EHLO mx.test", "AUTH PLAIN AGFsaWNlAHNlY3JldA==", "STARTTLS",
                             "EHLO mx.test", "AUTH PLAIN AGFsaWNlAHNlY3JldA=="])
    assert reply(replies[:2]) == "530 5.7.0 Must issue a STARTTLS command first"
    assert not [line for line in replies[3][2].splitlines() if line.startswith("AUTH")]
    assert reply(replies) == "503 5.5.1 Error: authentication not enabled"


def test_mail_server_relays_nothing_for_the_relay(lab, hosts, net):
    """The relay may deliver to the internal domains only."""
    replies = smtp_dialogue(hosts["relay"], address_of(lab, net["mail"]), 25,
                            ["EHLO mx.test", "STARTTLS", "EHLO mx.test",
                             "MAIL FROM:<alice@%s>" % lab["internet_domain"], "RCPT TO:<%s>" % FOREIGN])
    assert reply(replies) == "554 5.7.1 <%s>: Relay access denied" % FOREIGN


def test_submission_hides_auth_before_starttls(lab, hosts, net):
    """Port 587: no AUTH offered or accepted before STARTTLS; offered after."""
    replies = smtp_dialogue(hosts[net["client"]], address_of(lab, net["mail"]), 587,
                            ["EHLO client.test", "AUTH PLAIN AGFsaWNlAHNlY3JldA==", "STARTTLS", "EHLO client.test"])
    assert not [line for line in replies[0][2].splitlines() if line.startswith("AUTH")]
    assert reply(replies[:2]) == "530 5.7.0 Must issue a STARTTLS command first"
    assert "AUTH PLAIN LOGIN" in replies[3][2].splitlines()


@pytest.mark.parametrize("port", [465, 587])
def test_submission_relays_nothing_without_login(lab, hosts, net, port):
    """Without a login, submission accepts no recipient, whatever the sender."""
    steps = ["EHLO client.test", "MAIL FROM:<alice@%s>" % lab["internet_domain"], "RCPT TO:<%s>" % FOREIGN]
    if port == 587:
        steps[1:1] = ["STARTTLS", "EHLO client.test"]
    replies = smtp_dialogue(hosts[net["client"]], address_of(lab, net["mail"]), port, steps,
                            implicit_tls=port == 465)
    assert reply(replies) == "554 5.7.1 <%s>: Recipient address rejected: Access denied" % FOREIGN


def test_submissions_on_465_delivers(lab, hosts, net, john, erika):
    """Implicit TLS on 465: a verified login and a message that arrives."""
    subject = token()
    result = swaks(hosts[net["client"]], "--server", net["mail_fqdn"], "--port", "465",
                   "--tlsc", "--tls-verify", "--tls-ca-path", CA_PATH,
                   "--auth", "PLAIN", "--auth-user", john["address"], "--auth-password", john["password"],
                   "--from", john["address"], "--to", erika["address"],
                   "--header", "Subject: " + subject, "--body", "Test message " + subject)
    assert "250 2.0.0 Ok: queued" in result.stdout, result.stdout
    assert wait_for(lambda: imap_messages(hosts[net["client"]], net["mail_fqdn"], erika["address"],
                                          erika["password"], subject))


def test_smuggled_message_stays_inside_the_first(lab, hosts, net, john, erika):
    """SMTP smuggling: "<LF>.<CR><LF>" does not end a message, so the
    commands after it are text of the first message, not a second one."""
    first, smuggled = token(), token()
    payload = ("RAW Subject: %s\\r\\n\\r\\nfirst\\n.\\r\\nMAIL FROM:<alice@%s>\\r\\n"
               "RCPT TO:<%s>\\r\\nDATA\\r\\nSubject: %s\\r\\n\\r\\nsmuggled\\r\\n.\\r\\n"
               % (first, lab["internet_domain"], erika["address"], smuggled))
    replies = smtp_dialogue(hosts["internet"], address_of(lab, lab["relay"]), 25,
                            ["EHLO mx.test", "MAIL FROM:<alice@%s>" % lab["internet_domain"],
                             "RCPT TO:<%s>" % john["address"], "DATA", payload, "QUIT"])
    assert [code for _step, code, _text in replies] == [250, 250, 250, 354, 250, 221], replies

    delivered = wait_for(lambda: imap_messages(hosts[net["client"]], net["mail_fqdn"], john["address"],
                                               john["password"], first))
    assert len(delivered) == 1, delivered
    assert "Subject: " + smuggled in delivered[0], delivered[0]
    assert imap_messages(hosts[net["client"]], net["mail_fqdn"], erika["address"],
                         erika["password"], smuggled) == []


PLAIN_LOGIN = """
import socket, sys, time
port, lines = int(sys.argv[2]), sys.argv[3:]
connection = socket.create_connection((sys.argv[1], port), timeout=10)
print(connection.recv(4096).decode().strip())
for line in lines:
    connection.sendall(line.encode() + b"\\r\\n")
    time.sleep(0.3)
    print(connection.recv(4096).decode().strip())
"""


def test_plain_imap_refuses_login(lab, hosts, net, john):
    """IMAP on 143 (where opened): LOGINDISABLED, and a plain-text login is
    refused before STARTTLS."""
    if 143 not in net["user_ports"]:
        pytest.skip("this network keeps port 143 closed (test_plain_ports_closed_unless_opened)")
    result = python(hosts[net["client"]], PLAIN_LOGIN, address_of(lab, net["mail"]), 143,
                    "a LOGIN %s %s" % (john["address"], john["password"]))
    greeting, answer = result.stdout.splitlines()[0], result.stdout.splitlines()[-1]
    assert "LOGINDISABLED" in greeting, greeting
    assert "STARTTLS" in greeting, greeting
    assert answer == "a NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."


def test_plain_pop3_refuses_login(lab, hosts, net, john):
    """POP3 on 110 (where opened): USER is refused before STLS."""
    if 110 not in net["user_ports"]:
        pytest.skip("this network keeps port 110 closed (test_plain_ports_closed_unless_opened)")
    result = python(hosts[net["client"]], PLAIN_LOGIN, address_of(lab, net["mail"]), 110,
                    "USER %s" % john["address"])
    assert result.stdout.splitlines()[-1] == \
        "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."


@pytest.mark.requirement("OPS.1.1.5.A3")
def test_rejections_are_logged(lab, hosts):
    """A refused relay attempt leaves a NOQUEUE line with client and reason."""
    started = time.time() - 1
    smtp_dialogue(hosts["internet"], address_of(lab, lab["relay"]), 25,
                  ["EHLO mx.test", "MAIL FROM:<alice@%s>" % lab["internet_domain"], "RCPT TO:<%s>" % FOREIGN])
    line = wait_for(lambda: journal(hosts["relay"], started, "NOQUEUE: reject: RCPT"), timeout=15)
    assert "Relay access denied" in line, line
    assert address_of(lab, "internet") in line, line
