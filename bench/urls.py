from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.urls import urlpatterns as hub_urlpatterns


class CeilingView(APIView):
    """The framework's ceiling: same middleware, authentication and renderer as the API,
    no database work beyond authenticating the token."""

    def get(self, request):
        return Response({"count": 0, "next": None, "previous": None, "results": []})


urlpatterns = [path("bench/ceiling/", CeilingView.as_view()), *hub_urlpatterns]
