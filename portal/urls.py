from django.urls import path

from . import views

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
    path("draws/<int:pk>/cancel/", views.cancel_draw, name="cancel_draw"),
    path("cards/", views.bank_cards, name="bank_cards"),
    path("cards/bind/", views.bind_card, name="bind_card"),
    path("cards/bind/<int:pk>/", views.card_code, name="card_code"),
    path("cards/<int:pk>/default/", views.make_default_card, name="make_default_card"),
]
