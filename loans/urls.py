from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("apply/", views.apply, name="apply"),
    path("credit/", views.my_credit, name="my_credit"),
    path("credit/review/", views.request_review, name="request_review"),
]
