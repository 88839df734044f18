"""The quality desk's pages (workspace), the customers' rating pages (panel and signed links) and
the results in the management area."""

from django.urls import path

from quality import views

desk_patterns = [
    path("", views.Queue.as_view(), name="desk-quality"),
    path("items/<int:item_id>/", views.ItemDetail.as_view(), name="desk-quality-item"),
    path("reviews/", views.ReviewList.as_view(), name="desk-quality-reviews"),
    path("reviews/<int:review_id>/", views.ReviewDetail.as_view(), name="desk-quality-review"),
    path("disputes/", views.DisputeList.as_view(), name="desk-quality-disputes"),
    path("disputes/<int:dispute_id>/settle/", views.DisputeSettle.as_view(), name="desk-quality-settle"),
    path("calibration/", views.SessionList.as_view(), name="desk-quality-sessions"),
    path("calibration/<int:session_id>/", views.SessionDetail.as_view(), name="desk-quality-session"),
    path("results/", views.Results.as_view(), name="desk-quality-results"),
]
panel_patterns = [
    path("replies/<int:message_id>/rate/", views.PanelRate.as_view(), name="panel-quality-rate"),
]
public_patterns = [
    path("rate/<int:message_id>/<str:token>/", views.LinkRate.as_view(), name="quality-rate-link"),
]
manage_patterns = [
    path("", views.ManageResults.as_view(), name="manage-quality"),
]
urlpatterns: list = []
