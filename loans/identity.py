"""公民身份信息核查 (citizen identity verification): does this name belong to this ID number?

A pluggable backend chosen by `IDENTITY_VERIFICATION_BACKEND`, like `loans.bureau`. A real
backend asks the citizen identity verification service of the Ministry of Public Security
(全国公民身份证号码查询服务中心, directly or through a licensed provider) whether the name and
the ID number belong together. That is a network call: callers make it outside any database
transaction and write what it answered afterwards. A backend answers match / no match, or
raises `IdentityVerificationUnavailable` when the service cannot answer right now.

The sandbox backend answers without a network, so demos and tests are repeatable:

- "no match" for any name containing ``测试不符`` (e.g. ``王测试不符``), and for the ID numbers
  in `SANDBOX_MISMATCH_ID_NUMBERS` (``110101198001010010``, ``110101198001010029``,
  ``110101198001010037``: Beijing Dongcheng, born 1 January 1980), whatever the name;
- `IdentityVerificationUnavailable` for any name containing ``测试不可用``;
- "match" for everyone else.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

SANDBOX_MISMATCH_NAME = "测试不符"
SANDBOX_UNAVAILABLE_NAME = "测试不可用"
SANDBOX_MISMATCH_ID_NUMBERS = frozenset(
    {"110101198001010010", "110101198001010029", "110101198001010037"}
)


@dataclass(frozen=True)
class IdentityCheck:
    matched: bool
    source: str
    reference: str = ""  # the service's serial number for this check, kept for audits


class IdentityVerificationUnavailable(Exception):
    """The service did not answer (down, timed out, quota used up): ask the person to retry."""


class BaseIdentityVerifier:
    source = "base"

    def verify(self, *, name: str, id_number: str) -> IdentityCheck:
        raise NotImplementedError


class SandboxIdentityVerifier(BaseIdentityVerifier):
    source = "sandbox"

    def verify(self, *, name: str, id_number: str) -> IdentityCheck:
        if SANDBOX_UNAVAILABLE_NAME in name:
            raise IdentityVerificationUnavailable("sandbox: service unavailable")
        matched = (
            SANDBOX_MISMATCH_NAME not in name
            and id_number.upper() not in SANDBOX_MISMATCH_ID_NUMBERS
        )
        return IdentityCheck(matched=matched, source=self.source)


def get_identity_verifier() -> BaseIdentityVerifier:
    return import_string(settings.IDENTITY_VERIFICATION_BACKEND)()
