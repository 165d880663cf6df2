from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from hub.audit import audit
from hub.exceptions import InvalidInput, NotFound

from . import tokens
from .models import ApiToken

# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the token itself (shown once)."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the token a name.", fields={"name": ["Required."]})
    if len(name) > 100:
        raise InvalidInput("The name is too long.", fields={"name": ["At most 100 characters."]})
    token, prefix, digest = tokens.generate()
    with transaction.atomic():
        api_token = ApiToken.objects.create(user=user, name=name, prefix=prefix, digest=digest)
        audit(actor=user, action="api_token.created", target=api_token, detail={"name": name})
    return api_token, token


def api_token_revoke(*, user, token_id: int) -> ApiToken:
    with transaction.atomic():
        api_token = (ApiToken.objects.select_for_update()
                     .filter(pk=token_id, user=user, revoked_at__isnull=True).first())
        if api_token is None:
            raise NotFound("No such token.")
        api_token.revoked_at = timezone.now()
        api_token.save(update_fields=["revoked_at"])
        audit(actor=user, action="api_token.revoked", target=api_token,
              detail={"name": api_token.name})
    return api_token


def api_token_authenticate(token: str):
    """The active user a token belongs to, or None."""
    prefix = tokens.parse_prefix(token)
    if prefix is None:
        return None
    api_token = (ApiToken.objects.select_related("user")
                 .filter(prefix=prefix, revoked_at__isnull=True).first())
    if api_token is None or not tokens.matches(token, api_token.digest):
        return None
    if not api_token.user.is_active:
        return None
    now = timezone.now()
    if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
    return api_token.user
