"""The schema class of every API view: drf-spectacular's, plus the error answers of the API.

Every operation documents 400, 401, 403, 404, 409, 429 and 503, and those with a body 413 and 415,
all with the one `Error` component (helpdesk.api.ErrorSerializer). A view that says more about
one of them (its own description) keeps what it says, and gets the `Error` body if it gave none.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular import openapi

from helpdesk.api import ErrorSerializer

ERRORS = {
    "400": _("Invalid input or a rule the request breaks: `field` names the field, `errors` lists every message."),
    "401": _("The token is wrong or no longer valid."),
    "403": _("Not signed in, or not allowed for the caller."),
    "404": _("No such object, or not visible to the caller."),
    "409": _("Not possible in the object's current state, e.g. `illegal_transition`."),
    "429": _("Too many requests: try again after the `Retry-After` header's seconds."),
    "503": _(
        "Unavailable for a moment (the database or the disk for uploads); nothing was changed: send it again "
        "after the `Retry-After` header's seconds."
    ),
}
BODY_ERRORS = {
    "413": _("The request body is too large."),
    "415": _("The body is not in a content type this operation accepts."),
}


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        error = {"application/json": {"schema": self.resolve_serializer(ErrorSerializer, "response").ref}}
        responses = operation.setdefault("responses", {})
        codes = {**ERRORS, **(BODY_ERRORS if "requestBody" in operation else {})}
        for code, description in codes.items():
            responses.setdefault(code, {"description": str(description), "content": error})
        for code, response in responses.items():
            # A view that describes an error without its body still answers with the one shape.
            if code >= "400" and "content" not in response:
                response["content"] = error
        operation["responses"] = dict(sorted(responses.items()))
        return operation
