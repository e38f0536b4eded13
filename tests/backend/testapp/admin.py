"""The product document's User in the admin: search, filters and a date hierarchy."""

from django.contrib import admin

from .models import Profile, User


class ProfileInline(admin.StackedInline):
    model = Profile


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("email", "first_name", "last_name", "age", "is_active")
    list_filter = ("is_active",)
    search_fields = ("first_name", "last_name", "email")
    date_hierarchy = "created_at"
    inlines = (ProfileInline,)
