from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from .models import User


def user_list(request: HttpRequest) -> HttpResponse:
    users = User.objects.select_related("profile").filter(is_active=True).order_by("last_name", "first_name")
    return render(request, "people/user_list.html", {"users": users, "total": User.objects.count()})


@require_POST
def change_email(request: HttpRequest, pk: int) -> JsonResponse:
    """Staff only: a new email for a user; one that another user has is refused (409), nothing changed."""
    if not request.user.is_staff:
        return JsonResponse({"error": "staff only"}, status=403)
    user = get_object_or_404(User, pk=pk)
    user.email = request.POST.get("email", "")
    try:
        with transaction.atomic():
            user.save(update_fields=["email"])
    except IntegrityError:
        return JsonResponse({"error": "that email belongs to another user"}, status=409)
    return JsonResponse({"id": user.pk, "email": user.email})
