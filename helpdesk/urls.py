from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as account_views
from helpdesk import health, views
from helpdesk.api import ApiRoot
from queues import views as queue_views
from tickets import urls as ticket_urls

api_v1 = (
    [
        path("", ApiRoot.as_view(), name="root"),
        path("", include("accounts.api.urls")),
        path("", include("tickets.api.urls")),
        path("", include("queues.api.urls")),
        path("", include("mailin.api.urls")),
        path("", include("notifications.api")),
        path("", include("shifts.api.urls")),
    ],
    "api",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("panel/", views.PanelHome.as_view(), name="panel"),
    path("desk/", views.DeskHome.as_view(), name="desk"),
    path("manage/", views.ManageHome.as_view(), name="manage"),
    path("manage/queue/", queue_views.ManageQueue.as_view(), name="manage-queue"),
    path("manage/shifts/", include("shifts.urls")),
    path("panel/tickets/", include(ticket_urls.panel_patterns)),
    path("desk/tickets/", include(ticket_urls.desk_patterns)),
    path("desk/notifications/", include("notifications.urls")),
    path("accounts/", include("accounts.urls")),
    path("help/", include("knowledge.urls")),
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    path("i18n/catalog.js", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

admin.site.site_header = "Helpdesk"
admin.site.site_title = "Helpdesk admin"
