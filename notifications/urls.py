from django.urls import path

from notifications import views

urlpatterns = [
    path("", views.DeskNotifications.as_view(), name="desk-notifications"),
]
