"""Models of the backend integration tests.

``User`` and ``Profile`` are the product document's models, word for word.
``EveryType`` has one field per row of the product document's data type
table; the three auto fields each get a model of their own, since a model has
one primary key.
"""

from django.db import models


class User(models.Model):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(unique=True)
    age = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "users"


class Profile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE)
    bio = models.TextField(blank=True)
    website = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "profiles"


class Auto(models.Model):
    id = models.AutoField(primary_key=True)
    label = models.CharField(max_length=20, default="")


class BigAuto(models.Model):
    id = models.BigAutoField(primary_key=True)
    label = models.CharField(max_length=20, default="")


class SmallAuto(models.Model):
    id = models.SmallAutoField(primary_key=True)
    label = models.CharField(max_length=20, default="")


class EveryType(models.Model):
    """Every other row of the type table, all nullable so that a test sets only what it checks."""

    binary = models.BinaryField(null=True)
    boolean = models.BooleanField(null=True)
    char = models.CharField(max_length=50, null=True)
    date = models.DateField(null=True)
    datetime = models.DateTimeField(null=True)
    decimal = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    duration = models.DurationField(null=True)
    file = models.FileField(max_length=200, null=True)
    file_path = models.FilePathField(path="/tmp", max_length=200, null=True)
    float = models.FloatField(null=True)
    integer = models.IntegerField(null=True)
    big_integer = models.BigIntegerField(null=True)
    ip_address = models.IPAddressField(null=True)  # removed from Django but still in the table
    generic_ip_address = models.GenericIPAddressField(null=True)
    json = models.JSONField(null=True)
    null_boolean = models.NullBooleanField()  # removed from Django but still in the table
    positive_big_integer = models.PositiveBigIntegerField(null=True)
    positive_integer = models.PositiveIntegerField(null=True)
    positive_small_integer = models.PositiveSmallIntegerField(null=True)
    slug = models.SlugField(max_length=50, null=True)
    small_integer = models.SmallIntegerField(null=True)
    text = models.TextField(null=True)
    time = models.TimeField(null=True)
    uuid = models.UUIDField(null=True)
    one_to_one = models.OneToOneField(Auto, null=True, on_delete=models.SET_NULL)


class Event(models.Model):
    """A timestamped row for date lookups and the ordering of transactions."""

    name = models.CharField(max_length=50)
    happened_at = models.DateTimeField()
    day = models.DateField(null=True)


class Tag(models.Model):
    name = models.CharField(max_length=30)

    class Meta:
        db_table = "tags"


class Article(models.Model):
    """Foreign keys, a many-to-many relation (through ``articles_tags``) and a cascade."""

    title = models.CharField(max_length=100)
    author = models.ForeignKey(User, on_delete=models.CASCADE, related_name="articles")
    tags = models.ManyToManyField(Tag, related_name="articles")

    class Meta:
        db_table = "articles"


class Comment(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField(default="")

    class Meta:
        db_table = "comments"


class Place(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        db_table = "places"


class Restaurant(Place):
    """Multi-table inheritance: a ``restaurants`` row extends a ``places`` row."""

    serves_pizza = models.BooleanField(default=False)

    class Meta:
        db_table = "restaurants"


class Headline(models.Model):
    """LIKE-based lookups where SQLite requires deterministic functions: a generated
    column, a partial index and a check constraint."""

    title = models.CharField(max_length=100)
    is_draft = models.GeneratedField(
        expression=models.Q(title__startswith="Draft:"),
        output_field=models.BooleanField(),
        db_persist=True,
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["title"], name="headline_a_titles", condition=models.Q(title__startswith="a")
            ),
            models.Index(fields=["title"], name="headline_news", condition=models.Q(title__icontains="news")),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(title__contains="spam"), name="headline_no_spam"),
        ]
