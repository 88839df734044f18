from django.urls import path

from accounts.api import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("me/language/", views.LanguageView.as_view(), name="me-language"),
    path("auth/token/", views.TokenView.as_view(), name="token"),
]
