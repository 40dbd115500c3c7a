"""A model whose instances the tests pickle into the cache."""

from django.db import models


def expensive_calculation():
    """A field default that counts how often it runs: unpickling a cached
    instance must not run it again."""
    expensive_calculation.num_runs += 1
    return 'computed-%d' % expensive_calculation.num_runs


expensive_calculation.num_runs = 0


class Poll(models.Model):
    question = models.CharField(max_length=200)
    answer = models.CharField(max_length=200, default=expensive_calculation)

    class Meta:
        app_label = 'djangoapp'
