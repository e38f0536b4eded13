from django.db import models


class Person(models.Model):
    name = models.CharField(max_length=100)
    email = models.CharField(max_length=254)
    age = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        app_label = "benchapp"
