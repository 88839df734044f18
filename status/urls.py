from django.urls import path

from status import views

public_patterns = [
    path("", views.status_page, name="status-page"),
    path("status.json", views.status_json, name="status-json"),
    path("feed.atom", views.status_feed, name="status-feed"),
    path("unsubscribe/<str:token>/", views.Unsubscribe.as_view(), name="status-unsubscribe"),
]

panel_patterns = [
    path("check/", views.PanelServiceCheck.as_view(), name="status-panel-check"),
    path("incidents/<int:incident_id>/subscribe/", views.PanelSubscribe.as_view(), name="status-subscribe"),
]

desk_patterns = [
    path("", views.DeskIncidents.as_view(), name="desk-incidents"),
    path("incidents/new/", views.DeskIncidentCreate.as_view(), name="desk-incident-new"),
    path("incidents/<int:incident_id>/", views.DeskIncidentDetail.as_view(), name="desk-incident"),
    path("incidents/<int:incident_id>/update/", views.DeskIncidentUpdate.as_view(), name="desk-incident-update"),
    path("incidents/<int:incident_id>/resolve/", views.DeskIncidentResolve.as_view(), name="desk-incident-resolve"),
    path("incidents/<int:incident_id>/link/", views.DeskIncidentLink.as_view(), name="desk-incident-link"),
    path("incidents/<int:incident_id>/unlink/", views.DeskIncidentUnlink.as_view(), name="desk-incident-unlink"),
    path("incidents/<int:incident_id>/progress/", views.DeskIncidentProgress.as_view(), name="desk-incident-progress"),
    path("maintenance/new/", views.DeskMaintenanceCreate.as_view(), name="desk-maintenance-new"),
    path(
        "maintenance/<int:maintenance_id>/cancel/",
        views.DeskMaintenanceCancel.as_view(),
        name="desk-maintenance-cancel",
    ),
]
