from rest_framework import serializers

from hub.choices import Status


class EcrIdentitySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)
    status_detail = serializers.CharField(help_text="Why it failed, or empty.")
    iam_username = serializers.CharField()
    access_key_id = serializers.CharField(help_text="Empty until active.")
    region = serializers.CharField(help_text="The AWS region of the hub's registry.")
    registry = serializers.CharField(
        help_text="`<account>.dkr.ecr.<region>.amazonaws.com`; empty until known."
    )


class EcrCredentialsSerializer(serializers.Serializer):
    access_key_id = serializers.CharField()
    secret_access_key = serializers.CharField()
    region = serializers.CharField()
    registry = serializers.CharField()
