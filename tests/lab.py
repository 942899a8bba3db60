"""Helpers that drive real traffic through the lab containers.

Every helper runs a real client (Python's socket, smtplib and imaplib,
swaks, openssl) inside a lab container, so each probe starts in the network
zone of that container and crosses the real packet filters.

Each helper also records what it did (source, destination, action and
result) as evidence of the running test; tests/conftest.py writes it into
the test's JUnit XML record, from which scripts/report builds the reports.
"""

import json
import os
import pathlib
import shlex
import subprocess
import sys
import time
import uuid

CA_PATH = "/etc/ssl/mailgw/ca.pem"

# Evidence entries one test may record; later ones are counted, not kept.
MAX_EVIDENCE = 300
# Characters of a reply or output kept in one evidence entry.
MAX_RESULT = 300

_evidence = None
_evidence_dropped = 0


def start_evidence():
    """Start a new evidence record for the test that runs now."""
    global _evidence, _evidence_dropped
    _evidence, _evidence_dropped = [], 0


def take_evidence():
    """Return the evidence recorded since start_evidence and stop recording."""
    global _evidence
    entries = _evidence or []
    if _evidence_dropped:
        entries.append({"from": "", "to": "", "action": "further entries omitted",
                        "result": "%d more entries" % _evidence_dropped, "count": 1})
    _evidence = None
    return entries


def record(source, target, action, result):
    """Add one entry to the running test's evidence: what ran where
    (source), against which address or port (target), and what came back.

    source is a testinfra host or a name. A repeat of the last entry, such
    as a check that wait_for polls, increments that entry's count instead."""
    global _evidence_dropped
    if _evidence is None:
        return
    if hasattr(source, "backend"):
        source = source.backend.name
    result = " ".join(str(result).split())
    if len(result) > MAX_RESULT:
        result = result[:MAX_RESULT - 3] + "..."
    entry = {"from": str(source), "to": str(target), "action": action, "result": result, "count": 1}
    last = _evidence[-1] if _evidence else None
    if last and all(last[key] == entry[key] for key in ("from", "to", "action", "result")):
        last["count"] += 1
    elif len(_evidence) < MAX_EVIDENCE:
        _evidence.append(entry)
    else:
        _evidence_dropped += 1

# Seconds a TCP probe waits for a reply before it reports the port as filtered.
PROBE_TIMEOUT = 3

_PROBE_SCRIPT = """
import concurrent.futures, json, socket, sys
timeout, targets = float(sys.argv[1]), sys.argv[2:]
def probe(target):
    address, port = target.rsplit(":", 1)
    sock = socket.socket()
    sock.settimeout(timeout)
    try:
        sock.connect((address, int(port)))
        return "open"
    except socket.timeout:
        return "filtered"
    except ConnectionRefusedError:
        return "closed"
    except OSError as error:
        return "error: %s" % error
    finally:
        sock.close()
with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
    states = dict(zip(targets, pool.map(probe, targets)))
print(json.dumps(states))
"""

_IMAP_SCRIPT = """
import imaplib, json, ssl, sys
host, user, password, token = sys.argv[1:5]
context = ssl.create_default_context(cafile=%r)
with imaplib.IMAP4_SSL(host, 993, ssl_context=context, timeout=10) as imap:
    imap.login(user, password)
    imap.select("INBOX", readonly=True)
    status, data = imap.search(None, "SUBJECT", '"%%s"' %% token)
    messages = []
    for number in data[0].split():
        status, parts = imap.fetch(number, "(RFC822)")
        messages.append(parts[0][1].decode("utf-8", "replace"))
    print(json.dumps(messages))
""" % CA_PATH


def _run_python(host, script, *args):
    quoted = " ".join(shlex.quote(str(arg)) for arg in args)
    return host.run("python3 -c %s %s" % (shlex.quote(script), quoted))


def python(host, script, *args):
    """Run a Python script with arguments on a lab host; return the result.

    The evidence names the first argument as the target (with the second
    as its port when that is a number) and keeps the exit code and the
    last output line, never the other arguments, which may be passwords."""
    result = _run_python(host, script, *args)
    target = str(args[0]) if args else ""
    if len(args) > 1 and str(args[1]).isdigit():
        target += ":%s" % args[1]
    lines = result.stdout.strip().splitlines()
    record(host, target, "Python client script", "exit %d: %s" % (result.rc, lines[-1] if lines else ""))
    return result


def probe_ports(host, address, ports, timeout=PROBE_TIMEOUT):
    """Try a TCP connection from host to each port of address.

    Returns {port: "open" | "closed" | "filtered" | "error: ..."}: "closed"
    means a reset came back, "filtered" that nothing came back in time.
    """
    states = probe_targets(host, [(address, port) for port in ports], timeout)
    return {port: states[(address, port)] for port in ports}


def probe_targets(host, targets, timeout=PROBE_TIMEOUT):
    """Try TCP connections from host to many (address, port) targets at once.

    Returns {(address, port): state} with the states of probe_ports."""
    arguments = ["%s:%d" % (address, port) for address, port in targets]
    result = _run_python(host, _PROBE_SCRIPT, timeout, *arguments)
    assert result.rc == 0, result.stderr
    states = {}
    for target, state in json.loads(result.stdout).items():
        address, port = target.rsplit(":", 1)
        states[(address, int(port))] = state
        record(host, target, "TCP connect", state)
    return states


def token():
    """Return a unique subject token that identifies one test message."""
    return "mailgw-test-" + uuid.uuid4().hex[:12]


def last_smtp_reply(output):
    """Return the last server reply in swaks output, other than the reply
    to QUIT; swaks marks server lines with "<-", "<~" or "<**"."""
    replies = [line.split(" ", 1)[-1].strip() for line in output.splitlines()
               if line.startswith(("<-", "<~", "<**"))]
    replies = [reply for reply in replies if not reply.startswith("221")]
    return replies[-1] if replies else "no reply"


def swaks(host, *args):
    """Run swaks on host with the given arguments; return the result."""
    result = host.run("swaks --timeout 15 " + " ".join(shlex.quote(str(arg)) for arg in args))
    options = {str(name): str(value) for name, value in zip(args, args[1:])}
    target = "%s:%s" % (options.get("--server", "localhost"), options.get("--port", "25"))
    action = "SMTP with swaks, from %s to %s" % (options.get("--from", "?"), options.get("--to", "?"))
    record(host, target, action, last_smtp_reply(result.stdout))
    return result


def submit(client, server, user, password, sender, recipient, subject):
    """Submit a message on port 587 with STARTTLS, a verified certificate
    and SASL PLAIN, as a user's mail program would."""
    return swaks(
        client,
        "--server", server, "--port", "587",
        "--tls", "--tls-verify", "--tls-ca-path", CA_PATH,
        "--auth", "PLAIN", "--auth-user", user, "--auth-password", password,
        "--from", sender, "--to", recipient,
        "--header", "Subject: " + subject,
        "--body", "Test message " + subject,
    )


def imap_messages(client, server, user, password, subject):
    """Log in over IMAPS (certificate verified) and return the raw messages
    in INBOX whose subject contains the token."""
    result = _run_python(client, _IMAP_SCRIPT, server, user, password, subject)
    assert result.rc == 0, result.stderr
    messages = json.loads(result.stdout)
    record(client, "%s:993" % server, "IMAPS login as %s, search for %s" % (user, subject),
           "%d messages found" % len(messages))
    return messages


_SEND_SCRIPT = """
import concurrent.futures, json, smtplib, ssl, sys
job = json.loads(sys.argv[1])
def context():
    if job["ca"]:
        return ssl.create_default_context(cafile=job["ca"])
    # Opportunistic STARTTLS, as an MTA on the internet would use it.
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    return insecure
def session(messages):
    accepted = 0
    with smtplib.SMTP(job["server"], job["port"], timeout=30) as smtp:
        smtp.starttls(context=context())
        if job["user"]:
            smtp.login(job["user"], job["password"])
        for recipient, subject in messages:
            # Every message carries its own Message-ID, as a mail program
            # writes one. A retry of the message repeats it.
            body = ("Subject: %s\\r\\nFrom: %s\\r\\nTo: %s\\r\\nMessage-ID: <%s@%s>\\r\\n\\r\\n"
                    "Counted test message.\\r\\n") % (subject, job["sender"], recipient, subject,
                                                     job["sender"].partition("@")[2])
            smtp.sendmail(job["sender"], [recipient], body)
            accepted += 1
    return accepted
batches = [job["messages"][i::job["sessions"]] for i in range(job["sessions"])]
with concurrent.futures.ThreadPoolExecutor(max_workers=job["sessions"]) as pool:
    print(sum(pool.map(session, batches)))
"""

_SUBJECTS_SCRIPT = """
import imaplib, json, ssl, sys
host, user, password, criteria = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
context = ssl.create_default_context(cafile=%r)
with imaplib.IMAP4_SSL(host, 993, ssl_context=context, timeout=30) as imap:
    imap.login(user, password)
    imap.select("INBOX", readonly=True)
    status, data = imap.search(None, *['%%s "%%s"' %% (key, value) for key, value in criteria])
    subjects = []
    numbers = data[0].split()
    if numbers:
        status, parts = imap.fetch(b",".join(numbers), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        for part in parts:
            if isinstance(part, tuple):
                subjects.append(part[1].decode("utf-8", "replace").partition(":")[2].strip())
    print(json.dumps(subjects))
""" % CA_PATH


def send_counted(host, server, port, sender, messages, user=None, password=None, sessions=1):
    """Send messages, a list of (recipient, subject), from host to
    server:port over STARTTLS in parallel SMTP sessions; return how many
    the server accepted.

    With a user, the client verifies the certificate against the lab CA
    and logs in, as a mail program submitting on port 587 does. Without
    one, TLS is opportunistic, as between MTAs on port 25."""
    job = {"server": server, "port": port, "sender": sender, "messages": messages,
           "user": user, "password": password, "sessions": sessions,
           "ca": CA_PATH if user else None}
    # The job contains the password, so the evidence describes it instead.
    result = _run_python(host, _SEND_SCRIPT, json.dumps(job))
    accepted = result.stdout.strip() if result.rc == 0 else "exit %d" % result.rc
    record(host, "%s:%d" % (server, port), "SMTP with Python, %d messages in %d sessions%s"
           % (len(messages), sessions, ", logged in as %s" % user if user else ""),
           "%s accepted" % accepted)
    assert result.rc == 0, result.stderr[-2000:]
    return int(result.stdout)


def imap_subjects(client, server, user, password, **criteria):
    """Log in over IMAPS and return the subjects of the messages in INBOX
    that match IMAP SEARCH criteria such as subject="token" or text="token"."""
    pairs = [[key.upper(), value] for key, value in criteria.items()]
    result = _run_python(client, _SUBJECTS_SCRIPT, server, user, password, json.dumps(pairs))
    assert result.rc == 0, result.stderr[-2000:]
    subjects = json.loads(result.stdout)
    record(client, "%s:993" % server, "IMAPS login as %s, search for %s"
           % (user, " ".join(str(value) for value in criteria.values())), "%d messages found" % len(subjects))
    return subjects


def maildir_subjects(host, maildir, subject):
    """Return the subject lines in a Maildir on host that contain the token,
    one per message."""
    result = host.run("cat %s/new/* %s/cur/* 2>/dev/null | grep -h '^Subject: .*%s'"
                      % (maildir, maildir, subject))
    return [line.partition(": ")[2] for line in result.stdout.splitlines()]


def wait_for(check, timeout=60, interval=1):
    """Call check until it returns a true value or timeout seconds pass;
    return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def maildir_messages(host, maildir, subject):
    """Return the messages in a Maildir on host that contain the token."""
    result = host.run(
        "grep -rlF -- %s %s/new %s/cur 2>/dev/null | xargs -r cat",
        subject, maildir, maildir,
    )
    messages = [result.stdout] if result.stdout else []
    record(host, maildir, "look for %s in the Maildir" % subject,
           "found" if messages else "not found")
    return messages


def journal(host, since, grep=None):
    """Return the journal lines of host since a timestamp (seconds since the
    epoch), optionally only those that contain grep."""
    command = "journalctl --no-pager -o short-iso --since @%d" % int(since)
    if grep:
        command += " | grep -F -- %s" % shlex.quote(grep)
    output = host.run(command).stdout
    if grep:
        record(host, "journal", "search the journal for %r" % grep,
               "%d lines found" % len(output.splitlines()))
    return output


def queue_ids(host, subject, queue=None):
    """Return the Postfix queue ids on host whose message contains the token,
    only those in the named queue (such as "deferred") when one is given."""
    result = host.run(
        "for id in $(postqueue -j | python3 -c 'import json,sys;"
        "[print(m[\"queue_id\"]) for m in map(json.loads, sys.stdin)"
        " if sys.argv[1] in (\"\", m[\"queue_name\"])]' %s); do "
        "postcat -bhq $id 2>/dev/null | grep -qF -- %s && echo $id; done",
        queue or "", subject,
    )
    return result.stdout.split()


def tls_scan(host, address, port, starttls=None):
    """Scan a TLS endpoint with testssl from host; return {id: finding}.

    Runs the protocol (-p), key-exchange group (-f), certificate (-S) and
    server-preference (-P) checks. starttls names the protocol that
    upgrades the connection ("smtp", "imap", "pop3"); None scans implicit
    TLS. The scan must have reached a TLS server, else the test fails."""
    report = "/tmp/testssl-%s-%d.json" % (address, port)
    command = ["testssl", "--quiet", "--warnings", "off", "--color", "0", "--nodns", "none",
               "--jsonfile", report, "-p", "-f", "-S", "-P"]
    if starttls:
        command += ["-t", starttls]
    command.append("%s:%d" % (address, port))
    host.run("rm -f %s", report)
    run = host.run(" ".join(shlex.quote(part) for part in command))
    assert host.file(report).exists, "testssl wrote no report: %s %s" % (run.stdout[-500:], run.stderr)
    findings = {entry["id"]: entry["finding"] for entry in json.loads(host.file(report).content_string)}
    record(host, "%s:%d" % (address, port), "TLS scan with testssl" + (" (STARTTLS %s)" % starttls if starttls else ""),
           tls_scan_summary(findings))
    assert findings.get("TLS1_2", "").startswith("offered") or findings.get("TLS1_3", "").startswith("offered"), (
        "the scan of %s:%d from %s reached no TLS server: %s"
        % (address, port, host.backend.name, findings.get("scanProblem", findings)))
    return findings


def tls_scan_summary(findings):
    """Return the protocol versions, suite order and key of a testssl scan
    in one line."""
    versions = [name for name in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3")
                if findings.get(name, "").startswith("offered")]
    parts = ["offered: %s" % (", ".join(versions) or "none")]
    if findings.get("cipher_order"):
        parts.append("suite order: %s" % findings["cipher_order"])
    if findings.get("cert_keySize"):
        parts.append("key: %s" % findings["cert_keySize"])
    return "; ".join(parts)


_DIALOGUE_SCRIPT = """
import json, smtplib, socket, ssl, sys
address, port, implicit, steps = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", json.loads(sys.argv[4])
# The dialogue tests the server's rules, not its certificate.
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
if implicit:
    smtp = smtplib.SMTP_SSL(address, port, context=context, timeout=15)
else:
    smtp = smtplib.SMTP(address, port, timeout=15)
replies = []
for step in steps:
    try:
        if step.startswith("RAW "):
            smtp.send(step[4:].encode().decode("unicode_escape").encode("latin-1"))
            code, text = smtp.getreply()
        else:
            code, text = smtp.docmd(step)
            if step == "STARTTLS" and code == 220:
                smtp.sock = context.wrap_socket(smtp.sock, server_hostname=address)
                smtp.file = None
    except (smtplib.SMTPServerDisconnected, ConnectionError, socket.timeout) as error:
        replies.append([step, 0, "disconnected: %s" % error])
        break
    replies.append([step, code, text.decode("utf-8", "replace")])
print(json.dumps(replies))
"""


def smtp_dialogue(host, address, port, steps, implicit_tls=False):
    """Hold an SMTP conversation from host with address:port; return the
    list of (step, reply code, reply text).

    Each step is a command line, "STARTTLS" (which also starts TLS), or
    "RAW <text>" to send text as it is (backslash escapes such as \\n are
    decoded) and read one reply. A closed connection ends the list with
    code 0."""
    result = _run_python(host, _DIALOGUE_SCRIPT, address, port, "1" if implicit_tls else "0", json.dumps(steps))
    assert result.rc == 0, result.stderr
    replies = [tuple(reply) for reply in json.loads(result.stdout)]
    commands = ", ".join(step.split("\\r\\n")[0][:60] for step in steps)
    last = ("%d %s" % (replies[-1][1], replies[-1][2])) if replies else "no reply"
    record(host, "%s:%d" % (address, port), "SMTP dialogue%s: %s" % (" over TLS" if implicit_tls else "", commands),
           last)
    return replies


REPOSITORY = pathlib.Path(__file__).resolve().parent.parent


def run_site(tmp_path, variables, *options, timeout=900):
    """Run playbooks/site.yml against the lab inventory with extra variables
    and further ansible-playbook options; return (exit code, output)."""
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(variables or {}))
    playbook = pathlib.Path(sys.executable).parent / "ansible-playbook"
    result = subprocess.run(
        [str(playbook), "-i", str(REPOSITORY / "inventories" / "lab"),
         str(REPOSITORY / "playbooks" / "site.yml"), "-e", "@%s" % extra, *options],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=timeout,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPOSITORY / "ansible.cfg"),
                 ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"),
    )
    recap = [line for line in result.stdout.splitlines() if "changed=" in line]
    record("controller", "lab inventory", "ansible-playbook site.yml %s, overriding %s"
           % (" ".join(options), ", ".join(sorted(variables or {})) or "nothing"),
           "exit %d; %s" % (result.returncode, "; ".join(recap)))
    return result.returncode, result.stdout + result.stderr
