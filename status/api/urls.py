from django.urls import path
from rest_framework.routers import SimpleRouter

from status.api import views

router = SimpleRouter()
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("maintenance", views.MaintenanceViewSet, basename="maintenance")

urlpatterns = [
    path("", views.StatusSummaryView.as_view(), name="status-summary"),
    *router.urls,
]
