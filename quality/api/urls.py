from django.urls import path
from rest_framework.routers import SimpleRouter

from quality.api import views

router = SimpleRouter()
router.register("ratings", views.RatingViewSet, basename="quality-rating")
router.register("queue", views.QueueViewSet, basename="quality-queue")
router.register("reviews", views.ReviewViewSet, basename="quality-review")
router.register("disputes", views.DisputeViewSet, basename="quality-dispute")
router.register("calibrations", views.SessionViewSet, basename="quality-calibration")

urlpatterns = [
    path("rating-links/", views.RatingLinkView.as_view(), name="quality-rating-link"),
    path("results/", views.ResultsView.as_view(), name="quality-results"),
    *router.urls,
]
