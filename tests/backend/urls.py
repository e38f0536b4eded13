"""URLs of the backend tests: the admin site, to drive the contrib apps through real requests."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
