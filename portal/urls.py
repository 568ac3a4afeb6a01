from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("apply/", views.apply, name="apply"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("language/", views.set_language, name="language"),
    path("calculator/", views.calculator, name="calculator"),
    path("quote/", views.quote, name="quote"),
    # My credit, borrowing and loans.
    path("credit/", views.my_credit, name="my_credit"),
    path("credit/review/", views.request_review, name="request_review"),
    path("borrow/", views.borrow, name="borrow"),
    path("contracts/<slug:number>/", views.contract_detail, name="contract"),
    path("contracts/<slug:number>/download/", views.contract_download, name="contract_download"),
    path("loans/", views.loan_list, name="loans"),
    path("loans/<int:pk>/", views.loan_detail, name="loan"),
    path("draws/<int:pk>/cancel/", views.cancel_draw, name="cancel_draw"),
    # Repaying.
    path("repay/", views.repay, name="repay"),
    path("loans/<int:pk>/repay/", views.repay_loan, name="repay_loan"),
    path("payments/<int:pk>/", views.payment_result, name="payment"),
    # Bank cards and the borrower's choices.
    path("cards/", views.bank_cards, name="bank_cards"),
    path("cards/bind/", views.bind_card, name="bind_card"),
    path("cards/bind/<int:pk>/", views.card_code, name="card_code"),
    path("cards/<int:pk>/default/", views.make_default_card, name="make_default_card"),
    path("cards/<int:pk>/remove/", views.remove_card, name="remove_card"),
    path("cards/preferences/", views.card_preferences, name="card_preferences"),
    # Help: hardship plans, complaints.
    path("help/", views.help_index, name="help"),
    path("help/hardship/new/", views.hardship_new, name="hardship_new"),
    path("help/hardship/<int:pk>/", views.hardship_detail, name="hardship"),
    path("help/complaints/new/", views.complaint_new, name="complaint_new"),
    path("help/complaints/<int:pk>/", views.complaint_detail, name="complaint"),
    # What we sent, what collections did, what was agreed.
    path("messages/", views.sms_messages, name="messages"),
    path("collection-record/", views.collection_record, name="collection_record"),
    path("collection-record/written-only/", views.written_only, name="written_only"),
    path("consents/", views.consents, name="consents"),
]
