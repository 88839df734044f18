import datetime as dt

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from quality import policy
from quality.models import SCORE_MAX, SCORE_MIN, Dispute, DisputeState, Rating, Review, ReviewItem, Verdict
from quality.services import COMMENT_MAX, REASON_MAX, TITLE_MAX

ID_MAX = 2**63 - 1
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class RatingSerializer(serializers.ModelSerializer):
    ticket = serializers.IntegerField(source="ticket.number", read_only=True, allow_null=True, default=None)
    chat = serializers.IntegerField(source="chat_id", read_only=True, allow_null=True)
    agent = PersonSerializer(read_only=True)
    line = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    changeable = serializers.SerializerMethodField()
    queue = serializers.SerializerMethodField()

    class Meta:
        model = Rating
        fields = [
            "id",
            "kind",
            "message",
            "ticket",
            "chat",
            "agent",
            "line",
            "ticket_status",
            "verdict",
            "comment",
            "source",
            "created_at",
            "updated_at",
            "changeable_until",
            "changeable",
            "queue",
        ]
        read_only_fields = fields

    def get_changeable(self, rating: Rating) -> bool:
        return rating.is_changeable()

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"id": {"type": "integer"}, "reason": {"type": "string"}, "state": {"type": "string"}},
        }
    )
    def get_queue(self, rating: Rating):
        request = self.context.get("request")
        item = getattr(rating, "item", None)
        if item is None or request is None or not policy.sees_all(request.user):
            return None
        return {"id": item.id, "reason": item.reason, "state": item.state}


class RatingCreateSerializer(serializers.Serializer):
    message = serializers.IntegerField(min_value=1, max_value=ID_MAX, help_text=_("The agent's reply."))
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    comment = serializers.CharField(max_length=COMMENT_MAX, required=False, allow_blank=True, default="")


class RatingChangeSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    comment = serializers.CharField(max_length=COMMENT_MAX, required=False, allow_blank=True)


class RatingLinkSerializer(RatingCreateSerializer):
    token = serializers.CharField(max_length=500, help_text=_("The signed token of the e-mail's link."))


class QueueItemSerializer(serializers.ModelSerializer):
    rating = RatingSerializer(read_only=True)

    class Meta:
        model = ReviewItem
        fields = ["id", "reason", "state", "created_at", "closed_at", "rating"]
        read_only_fields = fields


class DisputeSerializer(serializers.ModelSerializer):
    agent = PersonSerializer(read_only=True)
    settled_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Dispute
        fields = [
            "id",
            "review",
            "agent",
            "reason",
            "state",
            "created_at",
            "settled_by",
            "settled_at",
            "settlement",
            "rating_fair",
        ]
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer):
    rating = serializers.IntegerField(source="item.rating_id", read_only=True)
    agent = PersonSerializer(read_only=True)
    reviewer = PersonSerializer(read_only=True)
    score = serializers.SerializerMethodField()
    dispute = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "item",
            "session",
            "rating",
            "agent",
            "reviewer",
            "correct",
            "complete",
            "tone",
            "rules",
            "rating_fair",
            "comment",
            "score",
            "created_at",
            "dispute",
        ]
        read_only_fields = fields

    def get_score(self, review: Review) -> float:
        return policy.review_score(review.scores())

    @extend_schema_field(DisputeSerializer(allow_null=True))
    def get_dispute(self, review: Review):
        dispute = getattr(review, "dispute", None) if review.session_id is None else None
        return DisputeSerializer(dispute).data if dispute is not None else None


def _score_field(label):
    return serializers.IntegerField(min_value=SCORE_MIN, max_value=SCORE_MAX, help_text=label)


class ScorecardSerializer(serializers.Serializer):
    correct = _score_field(_("Correct, 1 to 5."))
    complete = _score_field(_("Complete, 1 to 5."))
    tone = _score_field(_("Tone, 1 to 5."))
    rules = _score_field(_("Followed the line's rules, 1 to 5."))
    rating_fair = serializers.BooleanField(help_text=_("Whether the customer's rating was fair."))
    comment = serializers.CharField(max_length=COMMENT_MAX, required=False, allow_blank=True, default="")


class ReviewCreateSerializer(ScorecardSerializer):
    item = serializers.IntegerField(min_value=1, max_value=ID_MAX, help_text=_("The review queue's item."))


class DisputeCreateSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX)


class SettleSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=[(DisputeState.UPHELD, DisputeState.UPHELD.label), (DisputeState.REJECTED, DisputeState.REJECTED.label)]
    )
    settlement = serializers.CharField(max_length=REASON_MAX, required=False, allow_blank=True, default="")
    rating_fair = serializers.BooleanField(required=False, allow_null=True, default=None)


class SessionCreateSerializer(serializers.Serializer):
    item = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    title = serializers.CharField(max_length=TITLE_MAX)


class CriterionSpreadSerializer(serializers.Serializer):
    criterion = serializers.CharField()
    values = serializers.ListField(child=serializers.IntegerField())
    mean = serializers.FloatField(allow_null=True)
    minimum = serializers.IntegerField(allow_null=True)
    maximum = serializers.IntegerField(allow_null=True)
    range = serializers.IntegerField(allow_null=True)
    stdev = serializers.FloatField(allow_null=True)


class SpreadSerializer(serializers.Serializer):
    criteria = CriterionSpreadSerializer(many=True)
    fair = serializers.IntegerField()
    unfair = serializers.IntegerField()
    fairness_agreement = serializers.FloatField(allow_null=True)


class SessionSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="session.id")
    item = serializers.IntegerField(source="session.item_id")
    title = serializers.CharField(source="session.title")
    state = serializers.CharField(source="session.state")
    created_at = serializers.DateTimeField(source="session.created_at")
    closed_at = serializers.DateTimeField(source="session.closed_at", allow_null=True)
    revealed = serializers.BooleanField(help_text=_("Scores show once the reader has scored or the session closed."))
    may_score = serializers.BooleanField()
    scores = ReviewSerializer(many=True)
    spread = SpreadSerializer(allow_null=True)


class ResultSerializer(serializers.Serializer):
    key = serializers.IntegerField(allow_null=True, help_text=_("The agent's or the line's id."))
    label = serializers.CharField()
    ratings = serializers.IntegerField(source="result.ratings")
    likes = serializers.IntegerField(source="result.likes")
    dislikes = serializers.IntegerField(source="result.dislikes")
    like_share = serializers.FloatField(source="result.like_share", allow_null=True)
    unfair_likes = serializers.IntegerField(source="result.unfair_likes")
    unfair_dislikes = serializers.IntegerField(source="result.unfair_dislikes")
    adjusted_like_share = serializers.FloatField(source="result.adjusted_like_share", allow_null=True)
    reviews = serializers.IntegerField(source="result.reviews")
    quality_score = serializers.FloatField(source="result.quality_score", allow_null=True)
    disputes_won = serializers.IntegerField(source="result.disputes_won")
    disputes_lost = serializers.IntegerField(source="result.disputes_lost")
    disputes_open = serializers.IntegerField(source="result.disputes_open")


class ResultQuerySerializer(serializers.Serializer):
    by = serializers.ChoiceField(choices=[("agent", "agent"), ("line", "line")], default="agent")
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    def validate(self, data):
        start, end = data.get("start"), data.get("end")
        for name, value in (("start", start), ("end", end)):
            if value is not None and not EARLIEST <= value <= LATEST:
                raise serializers.ValidationError({name: _("Choose a day between 2000 and 2100.")})
        if start and end and start > end:
            raise serializers.ValidationError(_("The period ends before it starts."))
        if start and end and (end - start).days > 732:
            raise serializers.ValidationError(_("Choose a period of two years at most."))
        return data
