import pytest

from tests.notifications.fake_tencent import FakeTencentSms

_PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture
def fake_tencent(settings, monkeypatch):
    """A local fake Tencent Cloud SMS API, with the settings pointing the Tencent backend at it
    and `SMS_BACKEND` set to that backend."""
    # The SDK sends through HTTP(S)_PROXY when set: the fake must be reached directly.
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    fake = FakeTencentSms(
        secret_id="AKIDfakeTencentSecretId", secret_key="fake-secret-key", app_id="1400000001"
    ).start()
    settings.SMS_BACKEND = "notifications.backends.tencent.SmsBackend"
    settings.TENCENT_SMS_ENDPOINT = fake.endpoint
    settings.TENCENT_SMS_SCHEME = "http"
    settings.TENCENT_SMS_TIMEOUT = 5
    settings.TENCENT_SMS_SECRET_ID = fake.secret_id
    settings.TENCENT_SMS_SECRET_KEY = fake.secret_key
    settings.TENCENT_SMS_SDK_APP_ID = fake.app_id
    settings.TENCENT_SMS_SIGN_NAME = "微众银行"
    settings.TENCENT_SMS_TEMPLATE_ID = "2100001"
    settings.TENCENT_SMS_TEMPLATE_IDS = {}
    settings.TENCENT_SMS_REGION = "ap-guangzhou"
    # One request at a time, so requests reach the fake in order; concurrency tests raise it.
    settings.SMS_CONCURRENCY = 1
    settings.SMS_RATE_LIMIT_PER_SECOND = 0
    yield fake
    fake.stop()
