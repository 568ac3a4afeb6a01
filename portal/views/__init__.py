"""Borrower portal pages. A borrower sees only their own data: every page reads the borrower
from the session (`borrower_required`) and nothing else."""

from .borrowing import borrow, cancel_draw, contract_detail, contract_download, loan_detail
from .cards import bank_cards, bind_card, card_code, make_default_card
from .login import login, logout
from .onboarding import apply, home, my_credit, request_review

__all__ = [
    "apply",
    "bank_cards",
    "bind_card",
    "borrow",
    "cancel_draw",
    "card_code",
    "contract_detail",
    "contract_download",
    "home",
    "loan_detail",
    "login",
    "logout",
    "make_default_card",
    "my_credit",
    "request_review",
]
