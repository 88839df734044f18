from django.urls import path
from rest_framework.routers import SimpleRouter

from shifts.api import views

router = SimpleRouter()
router.register("shifts", views.ShiftViewSet, basename="shift")
router.register("shift-exceptions", views.ShiftExceptionViewSet, basename="shift-exception")
router.register("roster-events", views.RosterEventViewSet, basename="roster-event")

urlpatterns = [
    path("lines/<slug:code>/staffing/", views.LineStaffingView.as_view(), name="line-staffing"),
    *router.urls,
]
