from django.urls import path

from reports import views

urlpatterns = [
    path("load/", views.Load.as_view(), name="manage-load"),
    path("fairness/", views.Fairness.as_view(), name="manage-fairness"),
    path("forecast/", views.Forecast.as_view(), name="manage-forecast"),
]
