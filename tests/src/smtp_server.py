# A real SMTP server for Twister's tests, on aiosmtpd: writes every message it accepts to OUTDIR as
# <n>.eml plus <n>.json (envelope, who authenticated, subject, decoded plain and HTML parts). Usage:
#   smtp_server.py PORT OUTDIR MODE [CERT KEY] [USER PASSWORD]
# MODE: plain (no TLS, no AUTH) | starttls (STARTTLS required, AUTH required) | tls (implicit TLS, AUTH required)
import email, email.policy, json, os, ssl, sys, time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, outdir, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cert = key = user = password = None
if mode != "plain":
    cert, key, user, password = sys.argv[4:8]


class Saver:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        Saver.count += 1
        base = os.path.join(outdir, "%06d" % Saver.count)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        meta = {"from": envelope.mail_from, "to": envelope.rcpt_tos,
                "authenticated": bool(session.authenticated),
                "tls": session.ssl is not None}
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        meta["subject"] = str(msg["subject"])
        meta["content_type"] = msg.get_content_type()
        for kind in ("plain", "html"):
            part = msg.get_body(preferencelist=(kind,))
            meta[kind] = part.get_content() if part is not None and part.get_content_type() == "text/" + kind else None
        with open(base + ".json", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK"


def check(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
        and auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False)


kwargs = {}
if mode != "plain":
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    kwargs.update(authenticator=check, auth_required=True)
    if mode == "starttls":
        kwargs.update(tls_context=ctx, require_starttls=True)
    else:
        kwargs.update(ssl_context=ctx, auth_require_tls=False)
controller = Controller(Saver(), hostname="127.0.0.1", port=port, **kwargs)
controller.start()
print("READY", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
