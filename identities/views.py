from django.contrib import messages
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from hub.exceptions import HubError

from . import services
from .models import ApiToken


class ConnectedIdentitiesView(TemplateView):
    template_name = "identities/connected_identities.html"


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
