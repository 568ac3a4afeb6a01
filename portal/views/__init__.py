"""Borrower portal pages. A borrower sees only their own data: every page reads the borrower
from the session (`borrower_required`) and nothing else."""

from .account import set_language
from .borrowing import borrow, cancel_draw, contract_detail, contract_download
from .calculator import calculator, quote
from .cards import (
    bank_cards,
    bind_card,
    card_code,
    card_preferences,
    make_default_card,
    remove_card,
)
from .help import complaint_detail, complaint_new, hardship_detail, hardship_new, help_index
from .loans import loan_detail, loan_list
from .login import login, logout
from .onboarding import apply, home, my_credit, request_review
from .records import collection_record, consents, sms_messages, written_only
from .repay import payment_result, repay, repay_loan

__all__ = [
    "apply",
    "bank_cards",
    "bind_card",
    "borrow",
    "calculator",
    "cancel_draw",
    "card_code",
    "card_preferences",
    "collection_record",
    "complaint_detail",
    "complaint_new",
    "consents",
    "contract_detail",
    "contract_download",
    "hardship_detail",
    "hardship_new",
    "help_index",
    "home",
    "loan_detail",
    "loan_list",
    "login",
    "logout",
    "make_default_card",
    "my_credit",
    "payment_result",
    "quote",
    "remove_card",
    "repay",
    "repay_loan",
    "request_review",
    "set_language",
    "sms_messages",
    "written_only",
]
