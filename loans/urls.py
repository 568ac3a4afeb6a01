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
]
