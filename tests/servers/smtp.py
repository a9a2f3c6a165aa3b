#!/usr/bin/python3
"""SMTP server for the integration tests: Debian's python3-aiosmtpd.

    smtp.py PORT DATADIR [--auth USER:PASSWORD]

Listens on 127.0.0.1:PORT (0: a free port of its choosing) and prints
"ready 127.0.0.1:PORT" once it does. Each message accepted is written to
DATADIR/NNNNNN.json (000001 first) before the server answers 250:
  {"mail_from", "rcpt_tos", "auth_user", "subject", "headers" (lower-case
   name: value), "text" and "html" (the first such part, or null), "raw"}.
DATADIR/reply.json, read at each DATA, can hold {"status": 554, "message":
"..."}: that is answered instead, and nothing is recorded.
--auth makes AUTH (PLAIN, LOGIN) mandatory with that user and password,
without TLS: this server only ever listens on the loopback interface.
SIGTERM stops it with exit code 0.

Run it with Debian's /usr/bin/python3: another python3 earlier in PATH
(pyenv, a virtualenv) does not see python3-aiosmtpd.
"""
import asyncio
import email
import email.policy
import json
import os
import signal
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def write_json(path, obj):
    """Whole files only: readers never see one half written."""
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
    os.replace(path + ".tmp", path)


def part_text(msg, subtype):
    part = msg.get_body(preferencelist=(subtype,))
    try:
        return part.get_content() if part is not None else None
    except (LookupError, ValueError):
        return part.get_payload(decode=True).decode("utf-8", "replace")


class Recorder:
    def __init__(self, directory):
        self.dir = directory
        self.count = len([n for n in os.listdir(directory) if n[:1].isdigit()])

    async def handle_DATA(self, server, session, envelope):
        try:
            with open(os.path.join(self.dir, "reply.json"), encoding="utf-8") as f:
                reply = json.load(f)
            return "%d %s" % (reply.get("status", 554), reply.get("message", "rejected"))
        except FileNotFoundError:
            pass
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.count += 1
        write_json(os.path.join(self.dir, "%06d.json" % self.count), {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth_user": session.auth_data,
            "subject": str(msg.get("subject", "")),
            "headers": {k.lower(): str(v) for k, v in msg.items()},
            "text": part_text(msg, "plain"),
            "html": part_text(msg, "html"),
            "raw": envelope.content.decode("utf-8", "replace"),
        })
        return "250 OK"


def main():
    if len(sys.argv) not in (3, 5) or (len(sys.argv) == 5 and sys.argv[3] != "--auth"):
        sys.exit("usage: smtp.py PORT DATADIR [--auth USER:PASSWORD]")
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    user, _, password = (sys.argv[4] if len(sys.argv) == 5 else "").partition(":")

    def authenticator(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and \
            data.login.decode() == user and data.password.decode() == password
        # handled=False: aiosmtpd answers 535 itself (True: we would have).
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    handler = Recorder(directory)
    loop = asyncio.new_event_loop()
    # hostname given: the default, getfqdn(), can wait seconds on DNS.
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, hostname="localhost", enable_SMTPUTF8=True,
                     auth_required=bool(user), auth_require_tls=False,
                     authenticator=authenticator if user else None),
        "127.0.0.1", port))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    print("ready 127.0.0.1:%d" % server.sockets[0].getsockname()[1], flush=True)
    loop.run_forever()
    server.close()


if __name__ == "__main__":
    main()
