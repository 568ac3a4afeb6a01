"""Tencent Cloud SMS (腾讯云短信) through the official SDK (API version 2021-01-11).

Templates: Tencent only sends approved templates. This backend uses one generic approved
template, `TENCENT_SMS_TEMPLATE_ID`, whose single parameter `{1}` carries our rendered text minus
the 【signature】 (Tencent adds the approved sign name, `TENCENT_SMS_SIGN_NAME`, itself).
`TENCENT_SMS_TEMPLATE_IDS` may map one of our template codes to its own approved id; such a
template must take the same single `{1}` parameter.

SendSms sends one template with one parameter list to up to 200 numbers. Our texts are personal
(amounts, dates, and a verification code in every message), so only messages with the same
template id *and* the same text share a request; everything else goes out one request per text.
Never put one borrower's text in another borrower's request.

Requests go out `SMS_CONCURRENCY` at a time (a thread pool around the blocking SDK, one SDK
client per thread: the client is not thread-safe), never faster than
`SMS_RATE_LIMIT_PER_SECOND` numbers a second across those threads (0: no limit): across every
worker process and machine when REDIS_URL is set, else per process (rate.py).

Every request carries `SessionContext` "outbox:<id of its first message>", which Tencent echoes
in its delivery receipts: a message left in doubt by a timeout or a dead worker is recognised
in the receipts by that context and its number (receipts.py). A timeout or a dropped
connection after the request went out is reported `in_doubt`, never as a plain failure: the
provider may have accepted it, and sending it again could deliver it twice.

Like every backend, this one never touches the database: `send` returns one `SendResult` per
message and `pull_delivery_receipts` returns `Receipt`s; the services record them.
"""

import logging
import re
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from loans.kyc import KycError, normalize_mobile

from . import SESSION_PREFIX, BaseSmsBackend, SendResult
from .rate import limiter

logger = logging.getLogger(__name__)

MAX_NUMBERS_PER_REQUEST = 200  # SendSms limit
MAX_RECEIPTS_PER_PULL = 100  # PullSmsSendStatus limit
# A network error whose text says the connection was never made: nothing reached Tencent.
_NOT_CONNECTED = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Connection refused|"
    r"ConnectTimeout|NameResolutionError|Name or service not known|"
    r"Temporary failure in name resolution"
)
_SIGNATURE = re.compile(r"^\s*【[^】]*】")


@dataclass(frozen=True)
class Receipt:
    """One delivery report (回执) from PullSmsSendStatus."""

    serial_no: str
    phone: str  # E.164, +86…
    delivered: bool
    at: datetime  # when the handset received it (or the report time), tz-aware
    code: str  # ReportStatus: SUCCESS / FAIL
    description: str  # the carrier's status, e.g. DELIVRD / UNDELIV
    session_context: str = ""  # what the request carried: "outbox:<id of its first message>"


def e164(phone: str) -> str:
    """+86 and the 11-digit mainland number; raises KycError for anything else."""
    return "+86" + normalize_mobile(phone)


def template_text(text: str) -> str:
    """The rendered text without its leading 【signature】: Tencent adds the sign name."""
    return _SIGNATURE.sub("", text, count=1).strip()


def _sdk_error(exc: TencentCloudSDKException) -> str:
    return f"{exc.get_code()}: {exc.get_message()}"


def session_context(message_id: int) -> str:
    return f"{SESSION_PREFIX}{message_id}"


def _in_doubt(exc: TencentCloudSDKException) -> bool:
    """A network error after the request left (read timeout, connection reset): Tencent may
    have accepted it. An error answer, an HTTP error status or a refused connection: it did
    not send."""
    return exc.get_code() == "ClientNetworkError" and not _NOT_CONNECTED.search(
        str(exc.get_message())
    )


class SmsBackend(BaseSmsBackend):
    def __init__(self):
        self._local = threading.local()

    # --- configuration -------------------------------------------------------------------
    @property
    def client(self) -> sms_client.SmsClient:
        """This thread's SDK client."""
        if getattr(self._local, "client", None) is None:
            missing = [
                name
                for name in (
                    "TENCENT_SMS_SECRET_ID",
                    "TENCENT_SMS_SECRET_KEY",
                    "TENCENT_SMS_SDK_APP_ID",
                )
                if not getattr(settings, name, "")
            ]
            if missing:
                raise ImproperlyConfigured(f"Tencent SMS needs {', '.join(missing)}")
            http = HttpProfile(
                protocol=settings.TENCENT_SMS_SCHEME,
                endpoint=settings.TENCENT_SMS_ENDPOINT,
                reqTimeout=settings.TENCENT_SMS_TIMEOUT,
            )
            client = sms_client.SmsClient(
                Credential(settings.TENCENT_SMS_SECRET_ID, settings.TENCENT_SMS_SECRET_KEY),
                settings.TENCENT_SMS_REGION,
                ClientProfile(httpProfile=http),
            )
            _read_environment_once(client)
            self._local.client = client
        return self._local.client

    @staticmethod
    def template_id(template: str) -> str:
        ids = getattr(settings, "TENCENT_SMS_TEMPLATE_IDS", None) or {}
        return str(ids.get(template) or settings.TENCENT_SMS_TEMPLATE_ID or "")

    # --- sending -------------------------------------------------------------------------
    def send(self, messages) -> list[SendResult]:
        messages = list(messages)
        results: list[SendResult | None] = [None] * len(messages)
        # (template id, text) -> [(index, E.164 number)]: one parameter list per request.
        groups: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        ids = [message.pk for message in messages]
        for i, message in enumerate(messages):
            template_id = self.template_id(message.template)
            if not template_id:
                results[i] = SendResult(
                    ok=False, error=f"no Tencent template id for template {message.template!r}"
                )
                continue
            try:
                number = e164(message.phone)
            except KycError as exc:
                results[i] = SendResult(ok=False, error=f"invalid mobile: {exc}")
                continue
            groups[template_id, template_text(message.text)].append((i, number))

        requests = [
            (template_id, text, batch)
            for (template_id, text), members in groups.items()
            for batch in _batches(members)
        ]

        def send_one(request):
            template_id, text, batch = request
            context = session_context(ids[batch[0][0]])
            return batch, self._send_batch(template_id, text, [n for _, n in batch], context)

        workers = max(1, min(int(settings.SMS_CONCURRENCY), len(requests)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sms") as pool:
            for batch, batch_results in pool.map(send_one, requests):
                for (i, _number), result in zip(batch, batch_results, strict=True):
                    results[i] = result
        return results

    def _send_batch(
        self, template_id: str, text: str, numbers: list[str], context: str = ""
    ) -> list[SendResult]:
        rate = float(settings.SMS_RATE_LIMIT_PER_SECOND)
        limiter(rate, settings.REDIS_URL if rate > 0 else "").acquire(len(numbers))
        request = models.SendSmsRequest()
        request.SmsSdkAppId = settings.TENCENT_SMS_SDK_APP_ID
        request.SignName = settings.TENCENT_SMS_SIGN_NAME
        request.TemplateId = template_id
        request.TemplateParamSet = [text]
        request.PhoneNumberSet = numbers
        request.SessionContext = context
        try:
            response = self.client.SendSms(request)
        except TencentCloudSDKException as exc:
            # Network errors arrive here too (code ClientNetworkError): retried when the
            # connection was refused, in doubt when the request had left.
            logger.warning("Tencent SendSms failed for %d number(s): %s", len(numbers), exc)
            result = SendResult(ok=False, error=_sdk_error(exc), in_doubt=_in_doubt(exc))
            return [result] * len(numbers)
        except (ImproperlyConfigured, OSError) as exc:
            logger.error("Tencent SendSms not attempted: %s", exc)
            return [SendResult(ok=False, error=f"{type(exc).__name__}: {exc}")] * len(numbers)

        statuses = {_digits(s.PhoneNumber): s for s in response.SendStatusSet or []}
        results = []
        for number in numbers:
            status = statuses.get(_digits(number))
            if status is None:
                results.append(
                    SendResult(
                        ok=False,
                        error=f"no send status returned (RequestId {response.RequestId})",
                    )
                )
            elif status.Code == "Ok":
                results.append(SendResult(ok=True, provider_id=status.SerialNo or ""))
            else:
                results.append(SendResult(ok=False, error=f"{status.Code}: {status.Message}"))
        return results

    # --- delivery receipts -----------------------------------------------------------------
    def pull_delivery_receipts(self, limit: int = MAX_RECEIPTS_PER_PULL) -> list[Receipt]:
        """Pull up to `limit` (at most 100) delivery reports. Tencent hands out each report
        once, so the caller must record what this returns. SDK errors propagate."""
        request = models.PullSmsSendStatusRequest()
        request.SmsSdkAppId = settings.TENCENT_SMS_SDK_APP_ID
        request.Limit = max(1, min(int(limit), MAX_RECEIPTS_PER_PULL))
        response = self.client.PullSmsSendStatus(request)
        receipts = []
        for item in response.PullSmsSendStatusSet or []:
            if item.UserReceiveTime:
                at = datetime.fromtimestamp(int(item.UserReceiveTime), tz=UTC)
            else:
                at = timezone.now()
            receipts.append(
                Receipt(
                    serial_no=item.SerialNo or "",
                    phone=item.PhoneNumber or "",
                    delivered=item.ReportStatus == "SUCCESS",
                    at=at,
                    code=item.ReportStatus or "",
                    description=item.Description or "",
                    session_context=item.SessionContext or "",
                )
            )
        return receipts


def _read_environment_once(client: sms_client.SmsClient) -> None:
    """Stop `requests` re-reading the environment (proxies, .netrc, CA bundle) on every
    request: a third of the client's CPU per message. The SDK has already taken HTTPS_PROXY /
    HTTP_PROXY from the environment when it built the client and passes them, and its CA
    bundle, with each request, so nothing it uses is lost."""
    session = getattr(getattr(getattr(client, "request", None), "conn", None), "_session", None)
    if session is not None:
        session.trust_env = False


def _digits(phone: str | None) -> str:
    return re.sub(r"\D", "", phone or "")


def _batches(members: list[tuple[int, str]]):
    """Chunks of at most 200 numbers, each number at most once per chunk (the reply is matched
    back to messages by number)."""
    pending = list(members)
    while pending:
        batch, later, seen = [], [], set()
        for member in pending:
            if len(batch) < MAX_NUMBERS_PER_REQUEST and member[1] not in seen:
                batch.append(member)
                seen.add(member[1])
            else:
                later.append(member)
        yield batch
        pending = later
