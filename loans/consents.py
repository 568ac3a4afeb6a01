"""The consent texts a borrower agrees to, by kind and version (PIPL Art. 14; 征信 credit
bureau rules): what the application page shows beside each box, and what the consents page
shows later for the version recorded on each Consent row.

A text never changes once it has been shown: a new wording is a new version added below, and
the current version constant moves to it (`services.borrowers.CONSENT_TEXT_VERSIONS` reads
them). Both languages are written here, not translated through gettext, so a translation
can never alter what was agreed to.
"""

from dataclasses import dataclass

from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext

from .models import Consent

DATA_PROCESSING_VERSION = "2026.1"
CREDIT_QUERY_VERSION = "2026.1"

CURRENT_VERSIONS = {
    Consent.Kind.DATA_PROCESSING: DATA_PROCESSING_VERSION,
    Consent.Kind.CREDIT_QUERY: CREDIT_QUERY_VERSION,
}


@dataclass(frozen=True)
class ConsentText:
    kind: str
    version: str
    zh: str
    en: str

    def in_language(self, language: str | None = None) -> str:
        """The text in `language` (the active one by default): English, or else Chinese."""
        language = language or translation.get_language() or "zh-hans"
        return self.en if language.startswith("en") else self.zh


TEXTS = {
    (Consent.Kind.DATA_PROCESSING, "2026.1"): ConsentText(
        kind=Consent.Kind.DATA_PROCESSING,
        version="2026.1",
        zh=(
            "本人同意贵行收集、保存和使用本人填写的姓名、身份证号码、手机号码、收入、负债和工作"
            "信息，用于核实身份、评估本人的借款申请和授信额度、管理借款及依法催收。贵行对上述"
            "信息加密保存，不会出售，也不会用于与借款无关的用途；仅在法律法规要求或为核实身份"
            "所必需时提供给有关机构。本人可随时查阅、更正这些信息，或撤回本授权；撤回后贵行将"
            "不再据此评估新的申请，已签订的借款合同不受影响。"
        ),
        en=(
            "I agree that the bank collects, keeps and uses the name, resident ID number,"
            " mobile number, income, debts and employment details I give, to verify my"
            " identity, assess my application and credit line, manage my loans and collect"
            " them lawfully. The bank keeps this data encrypted, never sells it and never uses"
            " it for anything unrelated to lending; it is passed on only where the law"
            " requires or where verifying my identity needs it. I may see and correct this"
            " data, or withdraw this consent, at any time; after withdrawal no new application"
            " is assessed on it, and loans already signed are not affected."
        ),
    ),
    (Consent.Kind.CREDIT_QUERY, "2026.1"): ConsentText(
        kind=Consent.Kind.CREDIT_QUERY,
        version="2026.1",
        zh=(
            "本人授权贵行向中国人民银行征信中心等依法设立的征信机构查询本人的信用报告，用于"
            "审核本人的借款申请、授信额度及贷后管理；并授权贵行按规定向征信机构报送本人的借款"
            "及还款信息，逾期未还的记录将如实报送。每次查询都会记录在本人的信用报告中。本授权"
            "自本人同意之日起至本人在贵行的借款全部结清之日止有效。"
        ),
        en=(
            "I authorise the bank to query my credit report at the Credit Reference Center of"
            " the People's Bank of China (征信中心) and other lawful credit bureaus, to assess"
            " my application and credit line and to manage my loans; and to report my"
            " borrowing and repayments to them as the rules require, overdue amounts"
            " included. Every query is shown on my credit report. This authorisation lasts"
            " from today until every loan I have with the bank is repaid."
        ),
    ),
}


def consent_text(kind: str, version: str) -> ConsentText | None:
    """The text of one version of one consent, or None for a version not on file."""
    return TEXTS.get((kind, version))


def current_text(kind: str) -> ConsentText:
    """The text shown today for `kind`."""
    return TEXTS[(kind, CURRENT_VERSIONS[kind])]


def _shown(kind: str) -> str:
    text = current_text(kind)
    version = gettext("Text version %(version)s") % {"version": text.version}
    return f"{text.in_language()} ({version})"


# What the application form shows beside each consent box, in the language of the request
# (lazy: the form is defined once, at import).
shown_text = lazy(_shown, str)
