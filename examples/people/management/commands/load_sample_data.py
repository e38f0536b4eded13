"""Load a few users with profiles; running it twice changes nothing."""

from django.core.management.base import BaseCommand
from django.db import transaction

from people.models import Profile, User

SAMPLE_USERS = [
    ("John", "Doe", "john.doe@example.com", 30, "Developer"),
    ("Jane", "Roe", "jane.roe@example.com", 27, "Designer"),
    ("Zoë", "Ångström", "zoe@example.com", 41, "Physicist"),
    ("Minnie", "Teen", "minnie@example.com", 16, ""),
]


class Command(BaseCommand):
    help = "Load the example users and profiles into PhantomDB."

    def handle(self, *args, **options):
        created = 0
        with transaction.atomic():
            for first_name, last_name, email, age, bio in SAMPLE_USERS:
                user, was_created = User.objects.get_or_create(
                    email=email, defaults={"first_name": first_name, "last_name": last_name, "age": age}
                )
                if was_created:
                    Profile.objects.create(user=user, bio=bio)
                    created += 1
            User.objects.filter(age__lt=18).update(is_active=False)
        self.stdout.write(self.style.SUCCESS(f"{created} users created, {User.objects.count()} in total."))
