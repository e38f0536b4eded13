from django.contrib import admin
from django.urls import path
from people import views

from phantomdb_django.telemetry import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", metrics_view),
    path("people/<int:pk>/email", views.change_email, name="change-email"),
    path("", views.user_list, name="user-list"),
]
