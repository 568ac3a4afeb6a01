"""A local stand-in for the Tencent Cloud SMS API (version 2021-01-11), good enough for the
official SDK, so backend tests never reach the internet.

What it speaks (the API v3 conventions the SDK uses):

* one endpoint, `POST /`, JSON body; the action in the `X-TC-Action` header, the API version in
  `X-TC-Version`, the region in `X-TC-Region`;
* `Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<date>/sms/tc3_request,
  SignedHeaders=content-type;host, Signature=<hex>`; the fake recomputes the signature from the
  secret key, the `Content-Type` and `Host` headers and the body, so a wrong key, host or body
  is refused like the real service would;
* every answer is HTTP 200 with `Content-Type: application/json` (exactly: the SDK only looks for
  an error object under that content type) and `{"Response": {..., "RequestId": "…"}}`; a
  failed request answers `{"Response": {"Error": {"Code": …, "Message": …}, "RequestId": …}}`,
  which the SDK raises as `TencentCloudSDKException`.

Tests steer it with `fail_number` (a per-number `Code` in `SendStatusSet`), `fail_requests`
(a top-level error for every request), `fail_http` (an HTTP error status, nothing sent),
`latency` (seconds every answer takes, *after* the request was accepted: beyond the client's
timeout the message is sent but the client never hears so), `stop()`/`start()` (connection
refused in between, the same port afterwards) and `queue_receipt` (what PullSmsSendStatus hands
out, each once, like the real queue); with `auto_receipts` every accepted message gets its
receipt at once, SessionContext echoed as Tencent does. `requests` records every request
received; `accepted` counts the messages sent per (number, text), `contexts` per
SessionContext, so a test sees any message sent twice.
"""

import hashlib
import hmac
import itertools
import json
import re
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_VERSION = "2021-01-11"
SERVICE = "sms"
_AUTH = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<secret_id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/"
    r"(?P<service>[^/]+)/tc3_request, SignedHeaders=(?P<signed>[^,]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


class ApiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(code, message)
        self.code, self.message = code, message


@dataclass
class RecordedRequest:
    action: str
    body: dict
    headers: dict = field(repr=False)


class FakeTencentSms:
    def __init__(self, *, secret_id: str, secret_key: str, app_id: str):
        self.secret_id, self.secret_key, self.app_id = secret_id, secret_key, app_id
        self.requests: list[RecordedRequest] = []
        self.number_failures: dict[str, tuple[str, str]] = {}
        self.request_failure: tuple[str, str] | None = None
        self.receipts: list[dict] = []
        self.issued: dict[str, str] = {}  # SerialNo -> the number it was sent to
        self.http_failure: int | None = None
        self.latency = 0.0
        self.auto_receipts = False
        self.accepted: Counter = Counter()  # (number, text) -> times sent
        self.contexts: Counter = Counter()  # SessionContext -> numbers sent under it
        self.in_flight = self.max_in_flight = 0  # requests being answered at once
        self.keep_requests = True  # off for a benchmark's hundreds of thousands
        # HTTP/1.1 keep-alive, as Tencent answers: no new connection per request. Off by
        # default so that `stop()` refuses every client at once (no connection stays open).
        self.keep_alive = False
        self.send_requests = 0  # SendSms requests received, kept or not
        self._serials = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> "FakeTencentSms":
        """Listen (again on the same port after a `stop()`, so clients find it back)."""
        protocol = "HTTP/1.1" if self.keep_alive else "HTTP/1.0"
        handler = type("Handler", (_Handler,), {"fake": self, "protocol_version": protocol})
        self._server = _Server(("127.0.0.1", self._port), handler)
        self._port = self._server.server_address[1]
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self._port}"

    # --- steering ------------------------------------------------------------------------
    def fail_number(self, phone: str, code: str, message: str = "") -> None:
        """Every SendSms to this E.164 number gets `code` in its SendStatus, until cleared."""
        self.number_failures[phone] = (code, message or f"{code} (fake)")

    def fail_requests(self, code: str, message: str = "") -> None:
        """Every request fails as a whole with a top-level error, until cleared."""
        self.request_failure = (code, message or f"{code} (fake)")

    def fail_http(self, status: int) -> None:
        """Every request gets this HTTP status (e.g. 502) and is not processed, until cleared."""
        self.http_failure = status

    def clear_failures(self) -> None:
        self.number_failures.clear()
        self.request_failure = None
        self.http_failure = None

    def sent_twice(self) -> int:
        """How many messages (number and text) were accepted more than once."""
        with self._lock:
            return sum(1 for n in self.accepted.values() if n > 1)

    def queue_receipt(
        self,
        serial_no: str,
        phone: str,
        *,
        delivered: bool = True,
        at: datetime | None = None,
        description: str | None = None,
        session_context: str = "",
    ) -> None:
        at = at or datetime.now(UTC)
        with self._lock:
            self.receipts.append(
                {
                    "UserReceiveTime": int(at.timestamp()),
                    "CountryCode": "86",
                    "SubscriberNumber": phone.removeprefix("+86"),
                    "PhoneNumber": phone,
                    "SerialNo": serial_no,
                    "ReportStatus": "SUCCESS" if delivered else "FAIL",
                    "Description": description or ("DELIVRD" if delivered else "UNDELIV"),
                    "SessionContext": session_context,
                }
            )

    def sent(self) -> list[dict]:
        """Bodies of the SendSms requests received, in order."""
        return [r.body for r in self.requests if r.action == "SendSms"]

    # --- the API -------------------------------------------------------------------------
    def handle(self, headers, raw: bytes) -> dict:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._handle(headers, raw)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handle(self, headers, raw: bytes) -> dict:
        action = headers.get("X-TC-Action", "")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        with self._lock:
            self.send_requests += action == "SendSms"
            if self.keep_requests:
                self.requests.append(RecordedRequest(action, body, dict(headers)))
        try:
            self._authenticate(headers, raw)
            if headers.get("X-TC-Version") != API_VERSION:
                raise ApiError("InvalidParameterValue", "unsupported X-TC-Version")
            if self.request_failure:
                raise ApiError(*self.request_failure)
            if action == "SendSms":
                response = self._send_sms(body)
            elif action == "PullSmsSendStatus":
                response = self._pull_status(body)
            else:
                raise ApiError("InvalidAction", f"unknown action {action!r}")
        except ApiError as exc:
            response = {"Error": {"Code": exc.code, "Message": exc.message}}
        response["RequestId"] = str(uuid.uuid4())
        if self.latency:
            time.sleep(self.latency)  # done already: a client that gives up never hears so
        return {"Response": response}

    def _authenticate(self, headers, raw: bytes) -> None:
        auth = headers.get("Authorization")
        if not auth:
            raise ApiError("AuthFailure.SignatureFailure", "missing Authorization header")
        match = _AUTH.match(auth)
        if not match or match["service"] != SERVICE or match["signed"] != "content-type;host":
            raise ApiError("AuthFailure.InvalidAuthorization", "malformed Authorization")
        if match["secret_id"] != self.secret_id:
            raise ApiError("AuthFailure.SecretIdNotFound", "the SecretId is not found")
        timestamp = int(headers.get("X-TC-Timestamp") or 0)
        if abs(time.time() - timestamp) > 300:
            raise ApiError("AuthFailure.SignatureExpire", "the signature has expired")
        date = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")
        canonical = "\n".join(
            [
                "POST",
                "/",
                "",
                f"content-type:{headers.get('Content-Type')}\nhost:{headers.get('Host')}\n",
                "content-type;host",
                hashlib.sha256(raw).hexdigest(),
            ]
        )
        scope = f"{date}/{SERVICE}/tc3_request"
        to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                str(timestamp),
                scope,
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        key = ("TC3" + self.secret_key).encode()
        for part in (date, SERVICE, "tc3_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if match["date"] != date or not hmac.compare_digest(expected, match["signature"]):
            raise ApiError("AuthFailure.SignatureFailure", "the signature does not match")

    def _check_app(self, body: dict) -> None:
        if body.get("SmsSdkAppId") != self.app_id:
            raise ApiError("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verify fail")

    def _send_sms(self, body: dict) -> dict:
        self._check_app(body)
        numbers = body.get("PhoneNumberSet") or []
        if not numbers:
            raise ApiError("MissingParameter.EmptyPhoneNumberSet", "PhoneNumberSet is empty")
        if len(numbers) > 200:
            raise ApiError("LimitExceeded.PhoneNumberCountLimit", "more than 200 numbers")
        if not body.get("TemplateId"):
            raise ApiError("FailedOperation.TemplateIncorrectOrUnapproved", "no TemplateId")
        if not body.get("SignName"):
            raise ApiError("FailedOperation.SignatureIncorrectOrUnapproved", "no SignName")
        statuses = []
        for number in numbers:
            if not re.fullmatch(r"\+\d{6,15}", number):
                code, message = "InvalidParameterValue.IncorrectPhoneNumber", "bad number"
            else:
                code, message = self.number_failures.get(number, ("Ok", "send success"))
            serial = ""
            context = body.get("SessionContext") or ""
            if code == "Ok":
                with self._lock:
                    serial = f"2433:{next(self._serials):020d}"
                    self.issued[serial] = number
                    self.accepted[number, (body.get("TemplateParamSet") or [""])[0]] += 1
                    self.contexts[context] += 1
                if self.auto_receipts:
                    self.queue_receipt(serial, number, session_context=context)
            statuses.append(
                {
                    "SerialNo": serial,
                    "PhoneNumber": number,
                    "Fee": 1 if code == "Ok" else 0,
                    "SessionContext": context,
                    "Code": code,
                    "Message": message,
                    "IsoCode": "CN" if number.startswith("+86") else "DEF",
                }
            )
        return {"SendStatusSet": statuses}

    def _pull_status(self, body: dict) -> dict:
        self._check_app(body)
        limit = body.get("Limit")
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            raise ApiError("InvalidParameterValue", "Limit must be 1 to 100")
        with self._lock:
            handed, self.receipts = self.receipts[:limit], self.receipts[limit:]
        return {"PullSmsSendStatusSet": handed}


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default backlog of 5 drops connections under load
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up (timeout, killed worker) closed its end: not the fake's fault.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeTencentSms  # HTTP/1.0 unless `keep_alive`: one request per connection
    disable_nagle_algorithm = True  # headers and body leave at once, no 40 ms delayed ACK

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.fake.http_failure:
            self.send_error(self.fake.http_failure)
            return
        payload = json.dumps(self.fake.handle(self.headers, raw), ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):  # keep test output quiet
        pass
