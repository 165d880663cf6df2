from rest_framework import serializers

from hub.api.serializers import StrictCharField, StrictChoiceField, StrictSerializer
from hub.limits import description_validators, length_validators

from ..choices import RepoManagement, Role
from ..models import Membership, Project, Service
from ..permissions import is_hub_admin

# --- Responses ------------------------------------------------------------------------


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.EmailField()
    is_hub_admin = serializers.SerializerMethodField()

    def get_is_hub_admin(self, user) -> bool:
        return is_hub_admin(user)


class ProjectSerializer(serializers.ModelSerializer):
    my_role = serializers.ChoiceField(
        choices=Role.choices,
        allow_null=True,
        read_only=True,
        help_text="Your role in the project; null for a hub admin who is not a member.",
    )

    class Meta:
        model = Project
        fields = ["shortname", "name", "description", "my_role", "repo_management"]
        read_only_fields = fields


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "email", "role"]
        read_only_fields = fields


class ServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "name", "description"]
        read_only_fields = fields


# --- Requests -------------------------------------------------------------------------
# Only the JSON shape is checked here; the services validate the values (the same
# messages as the browser's forms).


class ProjectCreateSerializer(StrictSerializer):
    shortname = StrictCharField(
        trim_whitespace=False, allow_blank=True, validators=length_validators(Project, "shortname")
    )
    name = StrictCharField(
        trim_whitespace=False, allow_blank=True, validators=length_validators(Project, "name")
    )
    description = StrictCharField(
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=False,
        validators=description_validators(),
    )
    repo_management = StrictChoiceField(
        choices=RepoManagement.choices,
        required=False,
        default=RepoManagement.MEMBERS,
        help_text="Extension: who may manage repositories.",
    )
    admin = StrictCharField(
        required=False,
        allow_blank=True,
        help_text="Extension: username or email of the first project admin.",
    )


class ProjectUpdateSerializer(StrictSerializer):
    name = StrictCharField(
        required=False,
        trim_whitespace=False,
        allow_blank=True,
        validators=length_validators(Project, "name"),
    )
    description = StrictCharField(
        required=False, allow_blank=True, trim_whitespace=False, validators=description_validators()
    )
    repo_management = StrictChoiceField(choices=RepoManagement.choices, required=False)


class MemberAddSerializer(StrictSerializer):
    username = StrictCharField(
        allow_blank=True, help_text="The person's username (or email address)."
    )
    role = StrictChoiceField(choices=Role.choices, required=False, default=Role.MEMBER)


class MemberRoleSerializer(StrictSerializer):
    role = StrictChoiceField(choices=Role.choices)


class ServiceCreateSerializer(StrictSerializer):
    name = StrictCharField(
        trim_whitespace=False, allow_blank=True, validators=length_validators(Service, "name")
    )
    description = StrictCharField(
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=False,
        validators=description_validators(),
    )


class ServiceUpdateSerializer(StrictSerializer):
    name = StrictCharField(
        required=False,
        trim_whitespace=False,
        allow_blank=True,
        validators=length_validators(Service, "name"),
    )
    description = StrictCharField(
        required=False, allow_blank=True, trim_whitespace=False, validators=description_validators()
    )
