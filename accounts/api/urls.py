from django.urls import path

from accounts.api import customers, views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("me/language/", views.LanguageView.as_view(), name="me-language"),
    path("me/time-zone/", views.TimeZoneView.as_view(), name="me-time-zone"),
    path("customers/", customers.CustomerLookupView.as_view(), name="customer-lookup"),
    path("customers/<int:pk>/", customers.CustomerCardView.as_view(), name="customer-card"),
    path("auth/token/", views.TokenView.as_view(), name="token"),
    path("auth/tokens/", views.TokenListView.as_view(), name="token-list"),
    path("auth/tokens/<int:pk>/", views.TokenDetailView.as_view(), name="token-detail"),
]
