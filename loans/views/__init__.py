"""Borrower portal pages: mobile-first, server-rendered. A borrower sees only their own data:
every page reads the borrower from the session and nothing else."""

from .borrowing import borrow, contract_detail, contract_download, loan_detail
from .login import login, logout
from .onboarding import apply, home, my_credit, request_review

__all__ = [
    "apply",
    "borrow",
    "contract_detail",
    "contract_download",
    "home",
    "loan_detail",
    "login",
    "logout",
    "my_credit",
    "request_review",
]
