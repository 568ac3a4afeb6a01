"""绑卡 (binding a bank card): the card in the borrower's own name, proved with a code texted
to their mobile; the cards they have, and which one is the default."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from loans.after_response import after_response
from loans.models import BankCard, Loan
from loans.models.payments import CardBinding
from loans.services import borrowers as borrower_services
from loans.services import cards

from ..decorators import borrower_required
from ..forms import BindCardForm, CardCodeForm, add_errors
from ..forms.account import CardPreferencesForm


def _next_url(request) -> str:
    """Where to go once the card is bound (the contract waiting to be signed): only a path on
    this site, never another one."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe and target.startswith("/") else ""


def with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


@borrower_required
def bank_cards(request):
    """The bound cards (masked), which is the default, and the borrower's auto-debit and
    reminder choices with the card auto-debit charges."""
    borrower = request.borrower
    bound = BankCard.objects.filter(borrower=borrower, unbound_at__isnull=True).order_by(
        "-is_default", "-bound_at", "-id"
    )
    context = {
        "cards": bound,
        "default_card": cards.default_card(borrower=borrower),
        "has_active_loan": Loan.objects.filter(
            borrower=borrower, status=Loan.Status.ACTIVE
        ).exists(),
        "preferences": CardPreferencesForm(
            initial={"auto_debit": borrower.auto_debit, "early_reminders": borrower.early_reminders}
        ),
        "borrower": borrower,
    }
    return render(request, "portal/cards.html", context)


@after_response
@sensitive_post_parameters("card_number")
@borrower_required
def bind_card(request):
    """Step 1: the card. Only one in the borrower's own name; the code is texted after the
    page has been answered. The number is posted, never put in a URL."""
    borrower = request.borrower
    form = BindCardForm(request.POST if request.method == "POST" else None)
    next_url = _next_url(request)
    if request.method == "POST" and form.is_valid():
        try:
            binding = cards.start_card_binding(
                borrower=borrower,
                bank_name=form.cleaned_data["bank_name"],
                card_number=form.cleaned_data["card_number"],
                make_default=form.cleaned_data["make_default"],
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            return redirect(with_next(reverse("portal:card_code", args=[binding.pk]), next_url))
    context = {"form": form, "holder": borrower.masked_name, "next": next_url}
    return render(request, "portal/card_bind.html", context)


@after_response
@sensitive_post_parameters("code")
@borrower_required
def card_code(request, pk: int):
    """Step 2: the code texted to the borrower's mobile proves the card; or a new code."""
    borrower = request.borrower
    binding = get_object_or_404(CardBinding, pk=pk, borrower=borrower)
    next_url = _next_url(request)
    if binding.card_id is not None:
        return redirect(next_url or "portal:bank_cards")
    form = CardCodeForm(request.POST if "verify" in request.POST else None)
    if request.method == "POST" and "resend" in request.POST:
        try:
            fresh = cards.resend_card_code(
                binding=binding, ip_address=request.META.get("REMOTE_ADDR")
            )
        except ValidationError as exc:
            messages.warning(request, " ".join(exc.messages))
        else:
            messages.info(request, _("A new code is on its way to your mobile."))
            return redirect(with_next(reverse("portal:card_code", args=[fresh.pk]), next_url))
    elif form.is_valid():
        try:
            card = cards.confirm_card_binding(binding=binding, code=form.cleaned_data["code"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request, _("Your card %(card)s is bound and verified.") % {"card": card.masked}
            )
            return redirect(next_url or "portal:bank_cards")
    context = {
        "binding": binding,
        "form": form,
        "masked_mobile": borrower.masked_mobile,
        "next": next_url,
    }
    return render(request, "portal/card_code.html", context)


@require_POST
@borrower_required
def make_default_card(request, pk: int):
    card = get_object_or_404(BankCard, pk=pk, borrower=request.borrower, unbound_at__isnull=True)
    try:
        cards.set_default_card(card=card)
    except ValidationError as exc:
        messages.warning(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(card)s is now your default card.") % {"card": card.masked})
    return redirect("portal:bank_cards")


@require_POST
@borrower_required
def remove_card(request, pk: int):
    """解绑 (remove a card). Another borrower's card is a 404; one removed already (a second
    click) gets a calm word, not an error."""
    card = get_object_or_404(BankCard, pk=pk, borrower=request.borrower)
    try:
        removal = cards.remove_bank_card(card=card)
    except cards.CardAlreadyRemoved as exc:
        messages.info(request, " ".join(exc.messages))
    except ValidationError as exc:
        messages.warning(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(card)s is removed.") % {"card": removal.card.masked})
        if removal.new_default is not None:
            messages.info(
                request,
                _(
                    "%(card)s is your default card now: loans are paid to it and repayments "
                    "collected from it."
                )
                % {"card": removal.new_default.masked},
            )
        elif removal.was_default:
            messages.warning(
                request,
                _(
                    "You have no default card now. Bind a card, or make a verified one the "
                    "default, before you borrow or for auto-debit to collect."
                ),
            )
    return redirect("portal:bank_cards")


@require_POST
@borrower_required
def card_preferences(request):
    """Auto-debit on or off, and the T−3 / T−1 reminders. Saving the same choices twice (a
    double click) leaves them as they are."""
    form = CardPreferencesForm(request.POST)
    if form.is_valid():
        borrower = borrower_services.set_portal_preferences(
            borrower=request.borrower,
            auto_debit=form.cleaned_data["auto_debit"],
            early_reminders=form.cleaned_data["early_reminders"],
        )
        messages.success(request, _("Your choices are saved."))
        if borrower.auto_debit and cards.default_card(borrower=borrower) is None:
            messages.warning(request, _("Auto-debit needs a verified default card: bind one."))
        elif not borrower.auto_debit:
            messages.info(
                request,
                _("Auto-debit is off: please repay each instalment yourself by its due date."),
            )
    return redirect("portal:bank_cards")
