from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponseBadRequest
from django.utils.translation import check_for_language
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from accounts.services import user_set_language
from helpdesk.errors import DomainError


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
