from django.urls import path

from . import views
from .views import borrowing

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("apply/", views.apply, name="apply"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("credit/", views.my_credit, name="my_credit"),
    path("credit/review/", views.request_review, name="request_review"),
    path("borrow/", views.borrow, name="borrow"),
    path("contracts/<slug:number>/", views.contract_detail, name="contract"),
    path("contracts/<slug:number>/download/", views.contract_download, name="contract_download"),
    path("loans/<int:pk>/", views.loan_detail, name="loan"),
    path("draws/<int:pk>/cancel/", borrowing.cancel_draw, name="cancel_draw"),
    path("cards/", borrowing.bank_cards, name="bank_cards"),
    path("cards/bind/", borrowing.bind_card, name="bind_card"),
    path("cards/bind/<int:pk>/", borrowing.card_code, name="card_code"),
    path("cards/<int:pk>/default/", borrowing.make_default_card, name="make_default_card"),
]
