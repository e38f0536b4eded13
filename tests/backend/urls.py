"""URLs of the backend tests: the admin site, a small view, and the metrics endpoint."""

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import path

from phantomdb_django.telemetry import metrics_view
from tests.backend.testapp.models import User


def user_emails(request: HttpRequest) -> JsonResponse:
    """Reads the users table twice (the second read is the cache's)."""
    emails = list(User.objects.order_by("pk").values_list("email", flat=True))
    again = list(User.objects.order_by("pk").values_list("email", flat=True))
    return JsonResponse({"emails": emails, "same": emails == again})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("users/emails", user_emails),
    path("metrics", metrics_view),
]
