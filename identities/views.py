from django.contrib import messages
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView
from django.views.generic.base import ContextMixin, TemplateResponseMixin

from hub import live, oneshot
from hub.choices import Status
from hub.exceptions import HubError

from . import selectors, services
from .models import ApiToken


class ConnectedIdentitiesMixin(TemplateResponseMixin, ContextMixin):
    """Your own connected identities: there is no page for anyone else's."""

    template_name = "identities/connected_identities.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        identity = selectors.ecr_identity_of(self.request.user)
        context.update(identity=identity, registry=selectors.ecr_registry(identity))
        return context


class ConnectedIdentitiesView(ConnectedIdentitiesMixin, View):
    """Under "Amazon ECR": your IAM credentials, the registry, and the commands of the
    user guide (for AWS CLI v2)."""

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data())


class EcrIdentityStatusView(ConnectedIdentitiesView):
    """Your ECR identity alone, polled while it is in flight (204 while unchanged)."""

    template_name = "identities/partials/ecr_identity.html"

    def get(self, request, *args, **kwargs):
        identity = selectors.ecr_identity_of(request.user)
        if identity is not None and (same := live.unchanged(request, identity)):
            return same
        return super().get(request, *args, **kwargs)


class EcrIdentityCreateView(View):
    def post(self, request):
        try:
            identity = services.ecr_identity_request(user=request.user)
        except HubError as exc:
            messages.error(request, exc.message)
        else:
            if identity.status == Status.PENDING:
                messages.success(
                    request,
                    "Creating your ECR credentials: they are ready in a few seconds.",
                    extra_tags="#ecr-identity",
                )
        return redirect("identities:connected")


class EcrIdentityRevealView(View):
    """POST: reveal your secret access key (audited), then show it once at
    identities:ecr-secret, so a reload shows the page again rather than revealing again."""

    def post(self, request):
        try:
            key_id, secret = services.ecr_identity_reveal(user=request.user)
        except HubError as exc:
            messages.error(request, exc.message)
            return redirect("identities:connected")
        oneshot.stash(request, ECR_SECRET, {"key_id": key_id, "secret": secret}, secret=True)
        return redirect("identities:ecr-secret")


ECR_SECRET = "ecr-secret"


class EcrIdentitySecretView(ConnectedIdentitiesMixin, View):
    """The Connected Identities page with the secret just revealed, once: opened again
    (a reload, the address reopened) it says so and offers Reveal, which is recorded."""

    def get(self, request):
        context = self.get_context_data()
        shown = oneshot.take(request, ECR_SECRET)
        identity = context["identity"]
        if shown and identity is not None and shown["key_id"] == identity.access_key_id:
            context.update(revealed_key_id=shown["key_id"], revealed_secret=shown["secret"])
        else:
            context["secret_shown_once"] = True
        response = self.render_to_response(context)
        response["Cache-Control"] = "no-store, private"
        return response


class EcrIdentityRotateView(View):
    def post(self, request):
        try:
            services.ecr_identity_rotate(user=request.user)
        except HubError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                "Rotating your access key: the new key replaces the old "
                "one in a few seconds. Run aws configure again with it.",
            )
        return redirect("identities:connected")


class EcrIdentityRetryView(View):
    def post(self, request):
        try:
            services.ecr_identity_retry(user=request.user)
        except HubError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Trying again.")
        return redirect("identities:connected")


class ApiTokenListView(TemplateView):
    template_name = "identities/api_tokens.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tokens"] = ApiToken.objects.filter(user=self.request.user)
        return context

    def post(self, request, *args, **kwargs):
        try:
            api_token, token = services.api_token_create(
                user=request.user, name=request.POST.get("name", "")
            )
        except HubError as exc:
            messages.error(request, exc.message)
            context = self.get_context_data(name_error=exc.message)
            return self.render_to_response(context, status=400)
        # Rendered once, in this response only; never stored in the session or a message.
        context = self.get_context_data(new_token=token, new_token_name=api_token.name)
        response = self.render_to_response(context, status=201)
        response["Cache-Control"] = "no-store"
        return response


class ApiTokenRevokeView(View):
    def post(self, request, token_id):
        try:
            api_token = services.api_token_revoke(user=request.user, token_id=token_id)
        except HubError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Token {api_token.name} revoked.")
        return redirect("identities:api-tokens")
