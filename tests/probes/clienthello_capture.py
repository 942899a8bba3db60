"""Record what an SMTP client offers in its TLS ClientHello.

Runs on a lab host in place of the SMTP server on a port. It greets each
client, offers STARTTLS, reads the ClientHello that follows, and writes the
offered protocol versions, cipher suites and key-exchange groups as JSON
lines to the output file. It then closes the connection without a
handshake, so the client defers the message and delivers it later to the
real server.

Usage: clienthello_capture.py ADDRESS PORT OUTPUT SECONDS
"""

import json
import socket
import struct
import sys
import time

EXTENSION_SUPPORTED_GROUPS = 0x000A
EXTENSION_SUPPORTED_VERSIONS = 0x002B


def read_line(connection):
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(1)
        if not chunk:
            raise ConnectionError("client closed the connection")
        data += chunk
    return data.decode("ascii", "replace").strip()


def read_exactly(connection, size):
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ConnectionError("client closed the connection")
        data += chunk
    return data


def parse_client_hello(record):
    """Return versions, suites and groups of a ClientHello handshake message
    (TLS record payload), each as a list of 16-bit code points."""
    if record[0] != 1:
        raise ValueError("not a ClientHello (handshake type %d)" % record[0])
    position = 4 + 2 + 32                            # header, legacy version, random
    legacy_version = struct.unpack_from("!H", record, 4)[0]
    position += 1 + record[position]                 # session id
    suites_length = struct.unpack_from("!H", record, position)[0]
    suites = list(struct.unpack_from("!%dH" % (suites_length // 2), record, position + 2))
    position += 2 + suites_length
    position += 1 + record[position]                 # compression methods
    extensions_end = position + 2 + struct.unpack_from("!H", record, position)[0]
    position += 2
    versions, groups = [legacy_version], []
    while position < extensions_end:
        kind, length = struct.unpack_from("!HH", record, position)
        body = record[position + 4:position + 4 + length]
        if kind == EXTENSION_SUPPORTED_GROUPS:
            groups = list(struct.unpack_from("!%dH" % (len(body) // 2 - 1), body, 2))
        elif kind == EXTENSION_SUPPORTED_VERSIONS:
            versions = list(struct.unpack_from("!%dH" % (body[0] // 2), body, 1))
        position += 4 + length
    return {"versions": versions, "suites": suites, "groups": groups}


def capture(connection, peer):
    connection.sendall(b"220 capture.invalid ESMTP ClientHello capture\r\n")
    while True:
        command = read_line(connection).upper()
        if command.startswith(("EHLO", "HELO")):
            connection.sendall(b"250-capture.invalid\r\n250 STARTTLS\r\n")
        elif command == "STARTTLS":
            connection.sendall(b"220 2.0.0 Ready to start TLS\r\n")
            break
        else:
            connection.sendall(b"503 5.5.1 STARTTLS first\r\n")
    header = read_exactly(connection, 5)
    record = read_exactly(connection, struct.unpack("!H", header[3:5])[0])
    result = parse_client_hello(record)
    result["client"] = peer[0]
    return result


def main():
    address, port, output, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(8)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        server.settimeout(max(deadline - time.monotonic(), 0.1))
        try:
            connection, peer = server.accept()
        except socket.timeout:
            break
        with connection:
            connection.settimeout(10)
            try:
                result = capture(connection, peer)
            except (OSError, ValueError, struct.error) as error:
                result = {"client": peer[0], "error": str(error)}
        with open(output, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
