#!/usr/bin/env python3
"""A stand-in for WeChat's server API on 127.0.0.1, to try the mini-program sign-in by hand
(README, "A resident signs in from the mini-program"). Standard library only.

    python3 scripts/wechat-stand-in.py 9100      # then HUYING_WECHAT_API_BASE=http://127.0.0.1:9100

A `wx.login` code is `code-<person>` or `code-<person>.<n>`: it stands for the openid `o-<person>`
and is good once (40163 the second time; any other code is 40029). A phone code is `phone-<digits>`: WeChat
"verified" that phone. Tokens come from /cgi-bin/stable_token (or /cgi-bin/token). Every request
is printed, so you can see what the server asks WeChat.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

USED = set()
APPID = {"value": None}


class StandIn(BaseHTTPRequestHandler):
    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write("wechat stand-in: " + (fmt % args) + "\n")

    def do_GET(self):
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/sns/jscode2session":
            APPID["value"] = q.get("appid")
            code = q.get("js_code", "")
            if not code.startswith("code-"):
                return self.answer({"errcode": 40029, "errmsg": "invalid code"})
            if code in USED:
                return self.answer({"errcode": 40163, "errmsg": "code been used"})
            USED.add(code)
            person = code[5:].split(".")[0]
            return self.answer({"openid": "o-" + person, "session_key": "stand-in-session-key"})
        if url.path == "/cgi-bin/token":
            APPID["value"] = q.get("appid")
            return self.answer({"access_token": "stand-in-token", "expires_in": 7200})
        self.answer({"errcode": 404, "errmsg": "not in the stand-in"})

    def do_POST(self):
        url = urlparse(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if url.path == "/cgi-bin/stable_token":
            APPID["value"] = body.get("appid")
            return self.answer({"access_token": "stand-in-token", "expires_in": 7200})
        if url.path == "/wxa/business/getuserphonenumber":
            code = body.get("code", "")
            if not code.startswith("phone-"):
                return self.answer({"errcode": 40029, "errmsg": "invalid code"})
            phone = code[6:]
            return self.answer({"errcode": 0, "errmsg": "ok", "phone_info": {
                "phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86",
                "watermark": {"timestamp": 1700000000, "appid": APPID["value"]}}})
        if url.path == "/cgi-bin/message/subscribe/send":
            return self.answer({"errcode": 0, "errmsg": "ok"})
        self.answer({"errcode": 404, "errmsg": "not in the stand-in"})


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9100
    print(f"WeChat stand-in on http://127.0.0.1:{port}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), StandIn).serve_forever()
