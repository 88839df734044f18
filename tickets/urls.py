from django.urls import path

from queues import views as queue_views
from tickets import bulk_views, views

panel_patterns = [
    path("", views.PanelTicketList.as_view(), name="panel-tickets"),
    path("new/", views.PanelTicketCreate.as_view(), name="panel-ticket-new"),
    path("<int:number>/", views.PanelTicketDetail.as_view(), name="panel-ticket"),
    path("<int:number>/reply/", views.PanelReply.as_view(), name="panel-ticket-reply"),
    path("<int:number>/confirm/", views.PanelConfirm.as_view(), name="panel-ticket-confirm"),
    path("<int:number>/reopen/", views.PanelReopen.as_view(), name="panel-ticket-reopen"),
    path("<int:number>/access-data/", views.PanelAccessData.as_view(), name="panel-ticket-access-data"),
    path("<int:number>/accept-extra-charge/", views.PanelAcceptExtraCharge.as_view(), name="panel-ticket-accept-extra"),
    path("<int:number>/standing/", queue_views.PanelStanding.as_view(), name="panel-ticket-standing"),
    path("<int:number>/boost/", queue_views.PanelBoost.as_view(), name="panel-ticket-boost"),
]

desk_patterns = [
    path("", views.DeskTicketList.as_view(), name="desk-tickets"),
    path("new/", views.DeskTicketCreate.as_view(), name="desk-ticket-new"),
    path("take-next/", queue_views.DeskTakeNext.as_view(), name="desk-take-next"),
    path("call/", views.DeskLogCall.as_view(), name="desk-log-call"),
    path("<int:number>/", views.DeskTicketDetail.as_view(), name="desk-ticket"),
    path("<int:number>/reply/", views.DeskReply.as_view(), name="desk-ticket-reply"),
    path("<int:number>/take/", views.DeskTake.as_view(), name="desk-ticket-take"),
    path("<int:number>/release/", views.DeskRelease.as_view(), name="desk-ticket-release"),
    path("<int:number>/transfer/", views.DeskTransfer.as_view(), name="desk-ticket-transfer"),
    path("<int:number>/promise/", views.DeskPromise.as_view(), name="desk-ticket-promise"),
    path("<int:number>/urgency/", views.DeskUrgency.as_view(), name="desk-ticket-urgency"),
    path("<int:number>/resolve/", views.DeskResolve.as_view(), name="desk-ticket-resolve"),
    path("<int:number>/reveal/", views.DeskReveal.as_view(), name="desk-ticket-reveal"),
    path("bulk/", bulk_views.DeskBulk.as_view(), name="desk-tickets-bulk"),
    path("views/", bulk_views.DeskSavedViewCreate.as_view(), name="desk-view-save"),
    path("views/<int:pk>/delete/", bulk_views.DeskSavedViewDelete.as_view(), name="desk-view-delete"),
    path("<int:number>/merge/", bulk_views.DeskMerge.as_view(), name="desk-ticket-merge"),
    path("<int:number>/link/", bulk_views.DeskLink.as_view(), name="desk-ticket-link"),
    path("<int:number>/unlink/", bulk_views.DeskUnlink.as_view(), name="desk-ticket-unlink"),
    path("<int:number>/split/", bulk_views.DeskSplit.as_view(), name="desk-ticket-split"),
    path("<int:number>/tag/", bulk_views.DeskTag.as_view(), name="desk-ticket-tag"),
    path("<int:number>/untag/", bulk_views.DeskUntag.as_view(), name="desk-ticket-untag"),
]
