"""The quality desk in the API: ratings (customers give and change theirs; the e-mail's signed
link without a login), the review queue, reviews and disputes, calibration, results. Scoped
and checked by quality.selectors and quality.services, like the pages."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.errors import NotFound
from quality import selectors, services
from quality.api import serializers as s
from quality.models import Dispute, Rating, RatingSource, Review, ReviewItem
from tickets.api.serializers import ApiErrorSerializer
from tickets.api.views import validated

TAG = "quality"
ERROR = OpenApiResponse(ApiErrorSerializer)
WRITE_ERRORS = {400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR}


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        summary="Ratings: customers their own, agents those of their replies, reviewers and managers all",
    ),
    retrieve=extend_schema(tags=[TAG], summary="One rating"),
    create=extend_schema(
        tags=[TAG],
        summary="Like or dislike an agent's reply on one's own ticket (again: change it within the window)",
        request=s.RatingCreateSerializer,
        responses={201: s.RatingSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        tags=[TAG],
        summary="Change one's rating while it is changeable",
        request=s.RatingChangeSerializer,
        responses={200: s.RatingSerializer, **WRITE_ERRORS},
    ),
)
class RatingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.RatingSerializer
    queryset = Rating.objects.none()  # for the schema
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Rating]:
        return selectors.ratings_visible_to(self.request.user).order_by("-created_at", "-id")

    def get_object(self) -> Rating:
        return selectors.rating_get(user=self.request.user, rating_id=_id(self.kwargs["pk"]))

    def create(self, request, *args, **kwargs):
        data = validated(s.RatingCreateSerializer, request.data, request)
        message = selectors.reply_to_rate(user=request.user, message_id=data["message"])
        rating = services.rating_give(
            message=message,
            customer=request.user,
            verdict=data["verdict"],
            comment=data["comment"],
            source=RatingSource.API,
        )
        return Response(self.get_serializer(rating).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        rating = self.get_object()
        data = validated(s.RatingChangeSerializer, request.data, request)
        rating = services.rating_change(
            rating=rating, customer=request.user, verdict=data["verdict"], comment=data.get("comment")
        )
        return Response(self.get_serializer(rating).data)


def _id(raw) -> int:
    """A path's id; one no row can have is simply not found."""
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= s.ID_MAX:
        raise NotFound("Not found.")
    return int(text)


class RatingLinkView(APIView):
    """The e-mail's signed link as an API call: no login, the token is the proof."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        tags=[TAG],
        operation_id="quality_rating_link",
        summary="Rate a reply with the signed token of its e-mail (works once)",
        request=s.RatingLinkSerializer,
        responses={201: s.RatingSerializer, **WRITE_ERRORS},
        auth=[],
    )
    def post(self, request):
        data = validated(s.RatingLinkSerializer, request.data, request)
        rating = services.rating_from_link(
            message_id=data["message"], token=data["token"], verdict=data["verdict"], comment=data["comment"]
        )
        return Response(s.RatingSerializer(rating, context={"request": request}).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        summary="The review queue (reviewers and managers): every dislike and the sampled likes",
        parameters=[OpenApiParameter("state", str, enum=["open", "reviewed", "withdrawn"])],
    ),
    retrieve=extend_schema(tags=[TAG], summary="One item of the review queue"),
)
class QueueViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.QueueItemSerializer
    queryset = ReviewItem.objects.none()  # for the schema

    def get_queryset(self) -> QuerySet[ReviewItem]:
        state = self.request.query_params.get("state") or "open"
        if state not in ("open", "reviewed", "withdrawn"):
            state = "open"
        return selectors.queue(user=self.request.user, state=state)

    def get_object(self) -> ReviewItem:
        return selectors.item_get(user=self.request.user, item_id=_id(self.kwargs["pk"]))


@extend_schema_view(
    list=extend_schema(tags=[TAG], summary="Reviews: agents those of their own work, reviewers and managers all"),
    retrieve=extend_schema(tags=[TAG], summary="One review"),
    create=extend_schema(
        tags=[TAG],
        summary="Score a queue item (reviewers and managers; never one's own reply)",
        request=s.ReviewCreateSerializer,
        responses={201: s.ReviewSerializer, **WRITE_ERRORS},
    ),
)
class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = s.ReviewSerializer
    queryset = Review.objects.none()  # for the schema

    def get_queryset(self) -> QuerySet[Review]:
        return selectors.reviews_visible_to(self.request.user).order_by("-created_at", "-id")

    def get_object(self) -> Review:
        return selectors.review_get(user=self.request.user, review_id=_id(self.kwargs["pk"]))

    def create(self, request, *args, **kwargs):
        data = validated(s.ReviewCreateSerializer, request.data, request)
        item = selectors.item_get(user=request.user, item_id=data.pop("item"))
        review = services.review_create(item=item, reviewer=request.user, **data)
        return Response(self.get_serializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=[TAG],
        summary="Dispute a review of one's own work, with a reason",
        request=s.DisputeCreateSerializer,
        responses={201: s.DisputeSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def dispute(self, request, pk=None):
        review = self.get_object()
        data = validated(s.DisputeCreateSerializer, request.data, request)
        dispute = services.dispute_open(review=review, agent=request.user, reason=data["reason"])
        return Response(s.DisputeSerializer(dispute).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(tags=[TAG], summary="Disputes: agents their own, reviewers and managers all"),
    retrieve=extend_schema(tags=[TAG], summary="One dispute"),
)
class DisputeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.DisputeSerializer
    queryset = Dispute.objects.none()  # for the schema

    def get_queryset(self) -> QuerySet[Dispute]:
        return selectors.disputes_visible_to(self.request.user).order_by("-created_at", "-id")

    def get_object(self) -> Dispute:
        return selectors.dispute_get(user=self.request.user, dispute_id=_id(self.kwargs["pk"]))

    @extend_schema(
        tags=[TAG],
        summary="Settle a dispute (managers): uphold sets the review aside, reject keeps it",
        request=s.SettleSerializer,
        responses={200: s.DisputeSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def settle(self, request, pk=None):
        dispute = self.get_object()
        data = validated(s.SettleSerializer, request.data, request)
        dispute = services.dispute_settle(dispute=dispute, manager=request.user, **data)
        return Response(s.DisputeSerializer(dispute).data)


@extend_schema_view(
    list=extend_schema(tags=[TAG], summary="Calibration sessions (reviewers and managers)"),
    retrieve=extend_schema(tags=[TAG], summary="A session: the scores and their spread once the reader has scored"),
    create=extend_schema(
        tags=[TAG],
        summary="Open a calibration session on a queue item",
        request=s.SessionCreateSerializer,
        responses={201: s.SessionSerializer, **WRITE_ERRORS},
    ),
)
class SessionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = s.SessionSerializer
    queryset = Review.objects.none()  # for the schema

    def get_queryset(self):
        return selectors.sessions_visible_to(self.request.user).order_by("-created_at", "-id")

    def _view(self, session):
        return selectors.session_view(session=session, user=self.request.user)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None  # noqa: S101 - the default pagination is on
        return self.get_paginated_response(self.get_serializer([self._view(one) for one in page], many=True).data)

    def retrieve(self, request, *args, **kwargs):
        session = selectors.session_get(user=request.user, session_id=_id(kwargs["pk"]))
        return Response(self.get_serializer(self._view(session)).data)

    def create(self, request, *args, **kwargs):
        data = validated(s.SessionCreateSerializer, request.data, request)
        item = selectors.item_get(user=request.user, item_id=data["item"])
        session = services.session_open(item=item, actor=request.user, title=data["title"])
        return Response(self.get_serializer(self._view(session)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=[TAG],
        summary="Give one's blind scores in a session",
        request=s.ScorecardSerializer,
        responses={201: s.SessionSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def scores(self, request, pk=None):
        session = selectors.session_get(user=request.user, session_id=_id(pk))
        data = validated(s.ScorecardSerializer, request.data, request)
        services.session_score(session=session, reviewer=request.user, **data)
        return Response(self.get_serializer(self._view(session)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=[TAG], summary="Close a session", request=None, responses={200: s.SessionSerializer, **WRITE_ERRORS}
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        session = selectors.session_get(user=request.user, session_id=_id(pk))
        session = services.session_close(session=session, actor=request.user)
        return Response(self.get_serializer(self._view(session)).data)


class ResultsView(APIView):
    @extend_schema(
        tags=[TAG],
        operation_id="quality_results",
        summary="Results per agent or per line for a period (agents: their own)",
        parameters=[s.ResultQuerySerializer],
        responses={200: s.ResultSerializer(many=True)},
    )
    def get(self, request):
        query = validated(s.ResultQuerySerializer, request.query_params, request)
        start, end = selectors.default_period()
        rows = selectors.results(
            user=request.user, start=query.get("start") or start, end=query.get("end") or end, by=query["by"]
        )
        return Response(s.ResultSerializer(rows, many=True).data)
