"""帮助 (help): asking for a hardship plan (协商还款) and writing a complaint or dispute (投诉 /
异议), and seeing what became of each. The collections services decide; these pages ask and
show."""

from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from debt_collection.models import Complaint, HardshipPlan
from debt_collection.models.help import COMPLAINT_TARGET_DAYS, PLAN_LAPSE_DPD
from debt_collection.selectors import borrower as borrower_selectors
from debt_collection.services import complaints as complaint_services
from debt_collection.services import hardship
from loans.models.restructuring import MAX_EXTENSION_DAYS, MAX_PLAN_TERM
from loans.services.restructuring import penalty_owed

from ..decorators import borrower_required
from ..forms import add_errors
from ..forms.help import ComplaintForm, HardshipForm

# The same request sent again this soon (a double tap, a resubmitted page) is the one made.
REPEAT_WINDOW = timedelta(minutes=30)
GRANTED = (HardshipPlan.Status.APPROVED, HardshipPlan.Status.COMPLETED, HardshipPlan.Status.LAPSED)


def money(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


@borrower_required
def help_index(request):
    borrower = request.borrower
    context = {
        "plans": [
            (plan, asked_for(plan)) for plan in borrower_selectors.hardship_plans(borrower=borrower)
        ],
        "complaints": borrower_selectors.complaints(borrower=borrower),
        "has_active_loan": borrower_selectors.loans_for_hardship(borrower=borrower).exists(),
        "max_extension": MAX_EXTENSION_DAYS,
        "max_term": MAX_PLAN_TERM,
        "target_days": COMPLAINT_TARGET_DAYS,
        "lapse_days": PLAN_LAPSE_DPD,
    }
    return render(request, "portal/help.html", context)


@borrower_required
def hardship_new(request):
    borrower = request.borrower
    loans = list(borrower_selectors.loans_for_hardship(borrower=borrower))
    chosen = request.GET.get("loan", "")
    form = HardshipForm(
        request.POST if request.method == "POST" else None,
        loans=loans,
        initial={"loan": chosen} if chosen.isdigit() else None,
    )
    existing = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        loan = data["loan"]
        terms = {
            "extension_days": data["extension_days"],
            "new_term": data["new_term"],
            "penalty_waiver": data["penalty_waiver"],
            "stop_interest": data["stop_interest"],
            "reason": _with_monthly(data["reason"], data["can_pay_monthly"]),
        }
        if data["waiver"] == HardshipForm.WAIVE_ALL:
            terms["penalty_waiver"] = penalty_owed(loan=loan) or None
            if terms["penalty_waiver"] is None:
                form.add_error("waiver", _("There is no penalty interest on this loan to waive."))
        if not form.errors:
            try:
                plan = hardship.propose_plan(loan=loan, by_borrower=True, staff=None, **terms)
            except ValidationError as exc:
                existing = borrower_selectors.live_plan(loan=loan)
                if existing is not None and _same_request(existing, terms):
                    messages.info(request, _("We already have this request."))
                    return redirect("portal:hardship", existing.pk)
                add_errors(form, exc)
            else:
                messages.success(request, _("Your request is sent. We will text you the decision."))
                return redirect("portal:hardship", plan.pk)
    context = {
        "form": form,
        "loans": loans,
        "existing": existing,
        "penalties": [(loan, money(penalty_owed(loan=loan))) for loan in loans],
    }
    return render(request, "portal/hardship_new.html", context)


@borrower_required
def hardship_detail(request, pk: int):
    plan = get_object_or_404(
        HardshipPlan.objects.select_related("loan__contract"),
        pk=pk,
        loan__borrower=request.borrower,
    )
    context = {
        "plan": plan,
        "asked": asked_for(plan),
        "summary": hardship.plan_summary(plan) if plan.status in GRANTED else "",
        "lapse_days": PLAN_LAPSE_DPD,
    }
    return render(request, "portal/hardship_detail.html", context)


@borrower_required
def complaint_new(request):
    borrower = request.borrower
    loans = borrower.loans.select_related("contract").order_by("-pk")
    form = ComplaintForm(request.POST if request.method == "POST" else None, loans=loans)
    if request.method == "POST" and form.is_valid():
        try:
            complaint, new = complaint_services.submit_portal_complaint(
                borrower=borrower,
                category=form.cleaned_data["category"],
                description=form.cleaned_data["description"],
                loan=form.cleaned_data["loan"],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            if new:
                messages.success(
                    request,
                    _("Received, reference %(reference)s. We will text you the reference too.")
                    % {"reference": complaint.reference},
                )
            else:
                messages.info(request, _("We already have this complaint."))
            return redirect("portal:complaint", complaint.pk)
    context = {"form": form, "target_days": COMPLAINT_TARGET_DAYS}
    return render(request, "portal/complaint_new.html", context)


@borrower_required
def complaint_detail(request, pk: int):
    complaint = get_object_or_404(Complaint, pk=pk, borrower=request.borrower)
    context = {"complaint": complaint, "target_days": COMPLAINT_TARGET_DAYS}
    return render(request, "portal/complaint_detail.html", context)


def asked_for(plan: HardshipPlan) -> list[str]:
    """What the borrower (or staff) asked for, in plain words."""
    asked = []
    if plan.extension_days:
        asked.append(
            _("Every remaining due date %(days)d days later") % {"days": plan.extension_days}
        )
    if plan.new_term:
        asked.append(
            _("A new plan over %(months)d monthly instalments") % {"months": plan.new_term}
        )
    if plan.penalty_waiver is not None:
        asked.append(
            _("Waive %(amount)s of penalty interest") % {"amount": money(plan.penalty_waiver)}
        )
    if plan.stop_interest:
        asked.append(_("Stop further interest and penalty (停息挂账)"))
    return asked


def _with_monthly(reason: str, monthly: Decimal) -> str:
    """The reason as stored: with what the borrower can pay a month, for the supervisor who
    decides (in both languages: staff read it whatever the borrower's)."""
    return f"{reason}\n\n每月可还 Can pay per month: {money(monthly)}"


def _same_request(plan: HardshipPlan, terms: dict) -> bool:
    return (
        plan.proposed_by_borrower
        and plan.status == HardshipPlan.Status.PROPOSED
        and timezone.now() - plan.proposed_at < REPEAT_WINDOW
        and all(getattr(plan, field) == value for field, value in terms.items())
    )
