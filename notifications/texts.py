"""The fixed wording of texts that are not staff-edited templates, in each borrower language
(DESIGN §5: a borrower's SMS use their language): the /verify/ footer, the one-time code texts,
and the words lifecycle messages put into their templates.

Plain strings, not gettext: a text's language is its reader's, never the language of whoever
(or whatever batch) caused it to be sent.
"""

from loans.models import Language

CHINESE, ENGLISH = Language.CHINESE.value, Language.ENGLISH.value


def in_language(texts: dict[str, str], language: str) -> str:
    """`texts` in `language`, Chinese for anything else."""
    return texts.get(language, texts[CHINESE])


# The pointer to /verify/ after every text (短信核验码: the SMS verification code).
FOOTERS = {
    CHINESE: "（短信核验码 {code}，可在官网 /verify/ 查验）",
    ENGLISH: " (Check code {code} at /verify/)",
}

# The texts that carry a one-time code, in each language. "Never tell anyone" is the
# anti-fraud line every bank's code text carries.
LOGIN_CODE_TEXTS = {
    CHINESE: "您的登录验证码为{code}，5分钟内有效。请勿将验证码告诉任何人。",
    ENGLISH: "Your login code is {code}, valid for 5 minutes. Never tell anyone this code.",
}
REGISTRATION_CODE_TEXTS = {
    CHINESE: "您的注册验证码为{code}，5分钟内有效。请勿将验证码告诉任何人。",
    ENGLISH: (
        "Your registration code is {code}, valid for 5 minutes. Never tell anyone this code."
    ),
}
CARD_CODE_TEXTS = {
    CHINESE: (
        "您正在绑定{bank_name}尾号{last4}的银行卡，验证码为{code}，5分钟内有效。"
        "请勿将验证码告诉任何人。"
    ),
    ENGLISH: (
        "You are binding the {bank_name} card ending {last4}. Your code is {code}, valid for "
        "5 minutes. Never tell anyone this code."
    ),
}

# A card, as lifecycle texts name it.
CARD_WORDS = {
    CHINESE: "{bank_name}尾号{last4}",  # 尾号: "ending in"
    ENGLISH: "{bank_name} ****{last4}",
}


def card_words(card, language: str) -> str:
    """A bank card as a text names it: its bank and last four digits, never the number."""
    if card is None:
        return ""
    return in_language(CARD_WORDS, language).format(bank_name=card.bank_name, last4=card.last4)
