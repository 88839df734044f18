from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from accounts.forms import ApiTokenForm
from accounts.selectors import api_tokens_of
from accounts.services import api_token_issue, api_token_revoke, time_zone_names, user_set_language, user_set_time_zone
from helpdesk.errors import DomainError, NotFound
from helpdesk.timezones import TIME_ZONE_COOKIE, zone_named


class LoginView(auth_views.LoginView):
    """Log in and switch the interface to the language the user chose before."""

    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        language = form.get_user().language
        if language and check_for_language(language):
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response


@require_POST
def set_language(request):
    """Django's language switch, which also remembers the choice for signed-in users."""
    language = request.POST.get("language", "")
    if request.user.is_authenticated:
        try:
            user_set_language(user=request.user, language=language)
        except DomainError as exc:
            return HttpResponseBadRequest(exc.message)
    # Django's view checks `next` against the host and sets the cookie.
    return django_set_language(request)


class ApiTokensView(LoginRequiredMixin, View):
    """The signed-in user's API tokens: make a named one (its key is shown once), see and revoke them."""

    template_name = "accounts/api_tokens.html"

    def context(self, request, form, new_key=None, new_token=None):
        return {
            "form": form,
            "tokens": api_tokens_of(user=request.user),
            "now": timezone.now(),
            "new_key": new_key,
            "new_token": new_token,
            "ttl_days": settings.API_TOKEN_TTL_DAYS,
        }

    def get(self, request):
        return render(request, self.template_name, self.context(request, ApiTokenForm()))

    def post(self, request):
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, self.context(request, form), status=400)
        try:
            token, key = api_token_issue(user=request.user, name=form.cleaned_data["name"], via="web")
        except DomainError as error:
            form.add_error(None, error.message)
            return render(request, self.template_name, self.context(request, form), status=error.status_code)
        # The key is in this answer only: it is stored as a digest, never in the session.
        return render(request, self.template_name, self.context(request, ApiTokenForm(), key, token), status=201)


@login_required
@require_POST
def revoke_api_token(request, pk: int):
    try:
        api_token_revoke(user=request.user, token_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, _("The token is revoked; it no longer works."))
    return redirect("api-tokens")


class AccountSettingsView(LoginRequiredMixin, View):
    """The account's own settings: the time zone, and the way to the other personal pages
    (password, notification settings for staff, API tokens, the admin for administrators)."""

    def _render(self, request, status=200, error=""):
        zones = sorted(time_zone_names())
        current = request.user.time_zone or timezone.get_current_timezone_name()
        context = {"zones": zones, "current_zone": current, "zone_saved": bool(request.user.time_zone), "error": error}
        return render(request, "accounts/settings.html", context, status=status)

    def get(self, request):
        return self._render(request)

    def post(self, request):
        try:
            user_set_time_zone(user=request.user, time_zone=request.POST.get("time_zone", ""))
        except DomainError as exc:
            return self._render(request, status=400, error=exc.message)
        messages.success(request, _("Dates and times are now shown in %(zone)s.") % {"zone": request.POST["time_zone"]})
        return redirect("account-settings")


@require_POST
def detect_time_zone(request):
    """The browser's zone, sent once by app.js: kept in a cookie for everyone, and saved to the
    account of a signed-in user who has not chosen one (a choice made on the settings page stays)."""
    name = request.POST.get("time_zone", "")
    if zone_named(name) is None:
        return HttpResponseBadRequest(_("Unknown time zone."))
    if request.user.is_authenticated and not request.user.time_zone:
        user_set_time_zone(user=request.user, time_zone=name)
    response = HttpResponse(status=204)
    response.set_cookie(TIME_ZONE_COOKIE, name, max_age=365 * 24 * 3600, samesite="Lax")
    return response
