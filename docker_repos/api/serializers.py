from collections.abc import Mapping

from django.utils import timezone
from rest_framework import serializers

from hub.api.serializers import (
    MAX_ID,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictSerializer,
)
from hub.choices import Status
from hub.limits import description_validators, length_validators

from ..access import check_access_list_length
from ..choices import TagMutability
from ..models import DockerRepo

# --- Repositories ---------------------------------------------------------------------


class RepoServiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class RepoSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(help_text="`<project>/<name>`: the name in ECR.")
    uri = serializers.CharField(
        help_text="`<account>.dkr.ecr.<region>.amazonaws.com/<project>/<name>`; empty until active."
    )
    project = serializers.CharField(source="project.shortname")
    service = RepoServiceSerializer()
    status = serializers.ChoiceField(choices=Status.choices)
    status_detail = serializers.CharField(help_text="Why it failed, or empty.")

    class Meta:
        model = DockerRepo
        fields = [
            "id",
            "name",
            "full_name",
            "uri",
            "project",
            "service",
            "description",
            "status",
            "status_detail",
            "tag_mutability",
            "scan_on_push",
            "keep_last_images",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


def _iso(value) -> str:
    # What DRF's DateTimeField gives, for the UTC datetimes the database returns.
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# The columns a list row needs, read with .values(): building 50 model instances (with
# their project and service) and running them through a ModelSerializer costs several
# times more than the rest of the request. `repo_list_row` gives RepoSerializer's output.
REPO_LIST_COLUMNS = (
    "id",
    "name",
    "uri",
    "project__shortname",
    "service_id",
    "service__name",
    "description",
    "status",
    "status_detail",
    "tag_mutability",
    "scan_on_push",
    "keep_last_images",
    "created_at",
    "updated_at",
)


def repo_list_row(row: dict) -> dict:
    project = row["project__shortname"]
    return {
        "id": row["id"],
        "name": row["name"],
        "full_name": f"{project}/{row['name']}",
        "uri": row["uri"],
        "project": project,
        "service": {"id": row["service_id"], "name": row["service__name"]},
        "description": row["description"],
        "status": row["status"],
        "status_detail": row["status_detail"],
        "tag_mutability": row["tag_mutability"],
        "scan_on_push": row["scan_on_push"],
        "keep_last_images": row["keep_last_images"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
    }


class RepoCreateSerializer(StrictSerializer):
    """A repository request. The values are checked as in the browser's form."""

    service = StrictIntegerField(
        min_value=1, max_value=MAX_ID, help_text="The id of one of the project's services."
    )
    name = StrictCharField(
        allow_blank=True,
        trim_whitespace=False,
        validators=length_validators(DockerRepo, "name"),
        help_text="Lowercase letters and digits, separated by '.', '_', "
        "'-' or '/'. The ECR name is `<project>/<name>`.",
    )
    description = StrictCharField(
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=False,
        validators=description_validators(),
    )
    tag_mutability = StrictChoiceField(
        choices=TagMutability.choices, required=False, default=TagMutability.MUTABLE
    )
    scan_on_push = StrictBooleanField(required=False, default=True)
    keep_last_images = StrictIntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=10000,
        help_text="Keep only the newest N images (an ECR lifecycle rule); null keeps all.",
    )


# --- Images ---------------------------------------------------------------------------


class ImageSerializer(serializers.Serializer):
    digest = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    pushed_at = serializers.DateTimeField(allow_null=True)
    size_bytes = serializers.IntegerField()


class ImagePageSerializer(serializers.Serializer):
    """The list shape of every list, read live from ECR: ECR does not say how many images
    there are, so `count` is null; follow `next` for the following page."""

    count = serializers.IntegerField(
        allow_null=True, help_text="Always null: ECR does not count images."
    )
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True, help_text="Always null.")
    results = ImageSerializer(many=True)


# --- Access -----------------------------------------------------------------------------


class RobotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    iam_username = serializers.CharField()
    status = serializers.ChoiceField(choices=Status.choices)
    status_detail = serializers.CharField(
        help_text="Why it failed, or why the hub rotated its key on its own (someone who had "
        "seen it left), or empty."
    )
    access_key_id = serializers.CharField(
        allow_null=True,
        help_text="The robot's current access key id; null unless you are a repo manager.",
    )


class UserAccessSerializer(serializers.Serializer):
    username = serializers.CharField()
    writable = serializers.BooleanField(help_text="Push as well as pull.")
    status = serializers.ChoiceField(choices=Status.choices)
    status_detail = serializers.CharField(help_text="Why it failed, or empty.")


class AccessSerializer(serializers.Serializer):
    robots = RobotSerializer(many=True)
    users = UserAccessSerializer(many=True)


class RobotEntrySerializer(StrictSerializer):
    name = StrictCharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text="The robot's name: lowercase letters, digits and '-'.",
    )


class UserEntrySerializer(StrictSerializer):
    username = StrictCharField(
        allow_blank=True, trim_whitespace=False, help_text="A member of the project."
    )
    writable = StrictBooleanField(
        required=False, default=False, help_text="Push as well as pull; false if not given."
    )


class AccessSetSerializer(StrictSerializer):
    """The whole desired access of a repository: entries not listed are removed."""

    robots = RobotEntrySerializer(many=True)
    users = UserEntrySerializer(many=True)

    def to_internal_value(self, data):
        if isinstance(data, Mapping):  # before each of a too long list's entries is checked
            check_access_list_length(data.get("robots"), data.get("users"))
        return super().to_internal_value(data)


class RobotCredentialsSerializer(serializers.Serializer):
    access_key_id = serializers.CharField()
    secret_access_key = serializers.CharField()
