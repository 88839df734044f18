from django.urls import path

from shifts import views

urlpatterns = [
    path("", views.ManageShifts.as_view(), name="manage-shifts"),
]
