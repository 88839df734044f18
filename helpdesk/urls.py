from django.contrib import admin
from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as account_views
from chat import urls as chat_urls
from helpdesk import health, views
from helpdesk.api import api_not_found
from helpdesk.api_root import ApiRoot
from knowledge import urls as knowledge_urls
from mailin import urls as mailin_urls
from quality import urls as quality_urls
from queues import views as queue_views
from reports import views as report_views
from status import urls as status_urls
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
        path("", include("knowledge.api.urls")),
        path("reports/", include("reports.api.urls")),
        path("status/", include("status.api.urls")),
        path("chat/", include("chat.api.urls")),
        path("quality/", include("quality.api.urls")),
    ],
    "api",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("panel/", views.PanelHome.as_view(), name="panel"),
    path("desk/", views.DeskHome.as_view(), name="desk"),
    # The management area opens on the SLA dashboard (reports/); its other reports live beside it.
    path("manage/", report_views.Dashboard.as_view(), name="manage"),
    path("manage/", include("reports.urls")),
    path("manage/queue/", queue_views.ManageQueue.as_view(), name="manage-queue"),
    path("manage/shifts/", include("shifts.urls")),
    path("manage/quality/", include(quality_urls.manage_patterns)),
    path("panel/tickets/", include(ticket_urls.panel_patterns)),
    path("desk/tickets/", include(ticket_urls.desk_patterns)),
    path("panel/help/", include(knowledge_urls.panel_patterns)),
    path("desk/help/", include(knowledge_urls.desk_patterns)),
    path("desk/notifications/", include("notifications.urls")),
    path("desk/customers/", include("accounts.customer_urls")),
    path("desk/mail/", include(mailin_urls.desk_patterns)),
    # Incidents and maintenance: the public status page, the panel's checks, the workspace's pages.
    path("status/", include(status_urls.public_patterns)),
    path("panel/status/", include(status_urls.panel_patterns)),
    path("desk/status/", include(status_urls.desk_patterns)),
    path("chat/", include(chat_urls.public_patterns)),
    path("panel/chat/", include(chat_urls.panel_patterns)),
    path("desk/chat/", include(chat_urls.desk_patterns)),
    path("quality/", include(quality_urls.public_patterns)),
    path("panel/quality/", include(quality_urls.panel_patterns)),
    path("desk/quality/", include(quality_urls.desk_patterns)),
    path("accounts/", include("accounts.urls")),
    path("help/", include("knowledge.urls")),
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    path("i18n/catalog.js", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # Keep last: any other /api/ address is a JSON 404 in the API's error shape.
    re_path(r"^api/", api_not_found),
]

# Each area's own error pages in the reader's language; JSON under /api/ (helpdesk.error_pages).
handler400 = "helpdesk.error_pages.bad_request"
handler403 = "helpdesk.error_pages.permission_denied"
handler404 = "helpdesk.error_pages.page_not_found"
handler500 = "helpdesk.error_pages.server_error"

admin.site.site_header = "Helpdesk"
admin.site.site_title = "Helpdesk admin"
