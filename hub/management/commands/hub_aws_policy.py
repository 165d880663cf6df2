import json

from django.core.management.base import BaseCommand

from hub import iam_policies


class Command(BaseCommand):
    help = (
        "Print the hub's IAM policy (`hub`) or its users' permissions boundary "
        "(`boundary`), filled in from HUB_IAM_PERMISSIONS_BOUNDARY and AWS_DEFAULT_REGION."
    )

    def add_arguments(self, parser):
        parser.add_argument("document", choices=["hub", "boundary"])

    def handle(self, *args, document, **options):
        policy = (
            iam_policies.hub_policy() if document == "hub" else iam_policies.user_boundary_policy()
        )
        self.stdout.write(json.dumps(policy, indent=2))
