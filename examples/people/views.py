from django.shortcuts import render

from .models import User


def user_list(request):
    users = User.objects.select_related("profile").filter(is_active=True).order_by("last_name", "first_name")
    return render(request, "people/user_list.html", {"users": users, "total": User.objects.count()})
