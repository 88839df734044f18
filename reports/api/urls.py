from django.urls import path

from reports.api import views

urlpatterns = [
    path("sla/", views.SlaReportView.as_view(), name="report-sla"),
    path("load/", views.LoadReportView.as_view(), name="report-load"),
    path("fairness/", views.FairnessReportView.as_view(), name="report-fairness"),
    path("forecast/", views.ForecastReportView.as_view(), name="report-forecast"),
]
