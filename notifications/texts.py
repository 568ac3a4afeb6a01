"""The fixed wording of texts that are not staff-edited templates, in each borrower language
(DESIGN §5: a borrower's SMS use their language): the /verify/ footer, the one-time code texts,
and the words lifecycle messages put into their templates. And `Stencil`: a staff-edited
template rendered for many messages at once.

Plain strings, not gettext: a text's language is its reader's, never the language of whoever
(or whatever batch) caused it to be sent.
"""

from django.template import Context
from django.template.base import (
    FilterExpression,
    TextNode,
    Variable,
    VariableNode,
    render_value_in_context,
)
from django.template.defaulttags import IfNode

from loans.models import Language

from .models import SmsTemplate, _compiled

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


class Stencil:
    """A template's text with holes for the names it prints as they are (`{{ amount }}`, no
    filter, used in no condition): rendered by Django once per language and combination of
    the other names' values, then filled per message with str.format. Byte for byte what
    `SmsTemplate.render` gives, at a fraction of the cost; any text using a tag other than
    `if`, a filter on such a name, or a value that is not a plain str or int is rendered the
    ordinary way."""

    def __init__(self, template: SmsTemplate, language: str):
        self.template, self.language = template, language
        body = template.body_en if language == "en" else template.body_zh
        names = None if _HOLE in body else _names(_compiled(body).nodelist)
        # None: rendered by Django message by message.
        self.holes = sorted(names[0] - names[1]) if names else None
        self.others = sorted(names[1]) if names else []
        self.formats: dict[tuple, str | None] = {}
        self.printed: dict[tuple, str] = {}

    def render(self, context: dict) -> str:
        if self.holes is not None:
            values = tuple(self._printed(context.get(n, _HOLE)) for n in self.holes)
            if _HOLE not in values:
                try:
                    # The type too: 1 == True, yet `{{ x }}` prints them differently.
                    key = tuple((v, type(v)) for v in (context.get(n, _HOLE) for n in self.others))
                    if key in self.formats:
                        fmt = self.formats[key]
                    else:
                        # A text testing amounts or dates varies with every message: past a
                        # few hundred variants, rendering each the ordinary way is no slower.
                        fmt = self._format(key) if len(self.formats) < MAX_VARIANTS else None
                except TypeError:  # an unhashable value: rendered the ordinary way
                    fmt = None
                if fmt is not None:
                    return fmt.format(*values).strip()
        return self.template.render(context, language=self.language)

    def _printed(self, value) -> str:
        if type(value) is str:
            return value
        if type(value) is not int:
            return _HOLE
        key = (type(value), value)
        if key not in self.printed:
            self.printed[key] = render_value_in_context(value, Context(autoescape=False))
        return self.printed[key]

    def _format(self, key: tuple) -> str | None:
        context = {n: v for n, (v, _t) in zip(self.others, key, strict=True) if v is not _HOLE}
        context.update((n, f"{_HOLE}{i}{_HOLE}") for i, n in enumerate(self.holes))
        body = self.template.body_en if self.language == "en" else self.template.body_zh
        parts = _compiled(body).render(Context(context, autoescape=False)).split(_HOLE)
        fmt = None
        if len(parts) % 2 and all(p.isdigit() for p in parts[1::2]):
            literal = [p.replace("{", "{{").replace("}", "}}") for p in parts[::2]]
            fmt = literal[0] + "".join(
                f"{{{i}}}{text}" for i, text in zip(parts[1::2], literal[1:], strict=True)
            )
        self.formats[key] = fmt
        return fmt


_HOLE = "\x00"
MAX_VARIANTS = 500


def _names(nodes) -> tuple[set[str], set[str]] | None:
    """(names printed as they are, names used any other way) in a node list; None when it
    holds a node other than text, a variable or an `if`."""
    printed, other = set(), set()
    for node in nodes:
        if isinstance(node, TextNode):
            continue
        if isinstance(node, VariableNode):
            var = node.filter_expression.var
            if not node.filter_expression.filters and isinstance(var, Variable):
                if var.lookups and len(var.lookups) == 1:
                    printed.add(var.lookups[0])
                    continue
            other |= _expression_names(node.filter_expression)
        elif isinstance(node, IfNode):
            for condition, nodelist in node.conditions_nodelists:
                other |= _condition_names(condition)
                inner = _names(nodelist)
                if inner is None:
                    return None
                printed |= inner[0]
                other |= inner[1]
        else:
            return None
    return printed, other


def _expression_names(expression: FilterExpression) -> set[str]:
    names = set()
    variables = [expression.var] + [a for _f, args in expression.filters for _l, a in args]
    for var in variables:
        if isinstance(var, Variable) and var.lookups:
            names.add(var.lookups[0])
    return names


def _condition_names(condition) -> set[str]:
    if condition is None:
        return set()
    if isinstance(getattr(condition, "value", None), FilterExpression):
        return _expression_names(condition.value)
    return _condition_names(getattr(condition, "first", None)) | _condition_names(
        getattr(condition, "second", None)
    )
