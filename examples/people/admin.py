from django.contrib import admin

from .models import Profile, User


class ProfileInline(admin.StackedInline):
    model = Profile


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["first_name", "last_name", "email", "age", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["first_name", "last_name", "email"]
    inlines = [ProfileInline]


admin.site.register(Profile)
