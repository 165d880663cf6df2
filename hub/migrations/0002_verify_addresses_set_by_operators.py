"""Addresses count only once verified (hub.auth.users_with_verified_email). Accounts made
before that by an operator (the admin, createsuperuser, the demo seed) have an address but
no allauth EmailAddress row at all; an address someone typed themselves (sign-up, the email
page) has a row and stays as it is. The first kind is taken as verified, so adding those
people by email keeps working; an address two accounts share is left unverified."""

from django.db import migrations
from django.db.models import Count
from django.db.models.functions import Lower


def forwards(apps, schema_editor):
    User = apps.get_model("auth", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    shared = set(User.objects.exclude(email="").annotate(lower=Lower("email"))
                 .values("lower").annotate(n=Count("id")).filter(n__gt=1)
                 .values_list("lower", flat=True))
    known = set(EmailAddress.objects.annotate(lower=Lower("email"))
                .values_list("lower", flat=True))
    EmailAddress.objects.bulk_create([
        EmailAddress(user_id=user_id, email=email, verified=True, primary=True)
        for user_id, email in User.objects.exclude(email="").values_list("id", "email")
        if email.lower() not in shared and email.lower() not in known
        and not EmailAddress.objects.filter(user_id=user_id).exists()
    ])


class Migration(migrations.Migration):
    dependencies = [
        ("hub", "0001_initial"),
        ("account", "0009_emailaddress_unique_primary_email"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
