from django.urls import path

from mailin.api import views

urlpatterns = [
    path("inbound/email/", views.InboundEmailView.as_view(), name="inbound-email"),
    path("inbound/messages/", views.InboundMessageListView.as_view(), name="inbound-message-list"),
    path("inbound/messages/<int:pk>/link/", views.InboundLinkView.as_view(), name="inbound-message-link"),
]
