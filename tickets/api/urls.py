from django.urls import path

from tickets.api import search, views, workspace

urlpatterns = [
    path("tickets/", views.TicketListView.as_view(), name="ticket-list"),
    path("tickets/search/", search.TicketSearchView.as_view(), name="ticket-search"),
    path("tickets/<int:number>/", views.TicketDetailView.as_view(), name="ticket-detail"),
    path("tickets/<int:number>/history/", views.TicketHistoryView.as_view(), name="ticket-history"),
    path("tickets/<int:number>/messages/", views.TicketMessagesView.as_view(), name="ticket-messages"),
    path("tickets/<int:number>/take/", views.TicketTakeView.as_view(), name="ticket-take"),
    path("tickets/<int:number>/release/", views.TicketReleaseView.as_view(), name="ticket-release"),
    path("tickets/<int:number>/transfer/", views.TicketTransferView.as_view(), name="ticket-transfer"),
    path("tickets/<int:number>/urgency/", views.TicketUrgencyView.as_view(), name="ticket-urgency"),
    path("tickets/<int:number>/promise/", views.TicketPromiseView.as_view(), name="ticket-promise"),
    path("tickets/<int:number>/resolve/", views.TicketResolveView.as_view(), name="ticket-resolve"),
    path("tickets/<int:number>/confirm/", views.TicketConfirmView.as_view(), name="ticket-confirm"),
    path(
        "tickets/<int:number>/accept-extra-charge/",
        views.TicketAcceptExtraChargeView.as_view(),
        name="ticket-accept-extra-charge",
    ),
    path("tickets/<int:number>/reopen/", views.TicketReopenView.as_view(), name="ticket-reopen"),
    path("tickets/<int:number>/access-data/", views.TicketAccessDataView.as_view(), name="ticket-access-data"),
    path(
        "tickets/<int:number>/access-data/reveal/",
        views.TicketAccessDataRevealView.as_view(),
        name="ticket-access-data-reveal",
    ),
    path("tickets/<int:number>/templates/", views.TicketTemplatesView.as_view(), name="ticket-templates"),
    path("attachments/<int:pk>/", views.AttachmentDownloadView.as_view(), name="attachment-download"),
    path("lines/", views.LineListView.as_view(), name="line-list"),
    path("views/", workspace.SavedViewListView.as_view(), name="view-list"),
    path("views/<int:pk>/", workspace.SavedViewDetailView.as_view(), name="view-detail"),
    path("tags/", workspace.TagListView.as_view(), name="tag-list"),
    path("tickets/bulk/", workspace.BulkView.as_view(), name="ticket-bulk"),
    path("tickets/<int:number>/tags/", workspace.TicketTagsView.as_view(), name="ticket-tags"),
    path("tickets/<int:number>/tags/<str:name>/", workspace.TicketTagDeleteView.as_view(), name="ticket-tag-delete"),
    path("tickets/<int:number>/merge/", workspace.TicketMergeView.as_view(), name="ticket-merge"),
    path("tickets/<int:number>/link/", workspace.TicketLinkView.as_view(), name="ticket-link"),
    path("tickets/<int:number>/unlink/", workspace.TicketUnlinkView.as_view(), name="ticket-unlink"),
    path("tickets/<int:number>/split/", workspace.TicketSplitView.as_view(), name="ticket-split"),
    path("calls/", views.CallLogView.as_view(), name="call-list"),
]
