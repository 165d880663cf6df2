from django.conf import settings


def hub(request):
    return {"hub_env": settings.HUB_ENV}
