"""A small Django project used by test_django.py.

``settings``: the project settings (the cache directory and backend come
from the environment, see there); ``urls``/``views``/``templates``: pages
that use Django's cache machinery (``cache_page``, the cache middleware,
``{% cache %}`` fragments, ``cache.incr``, ``DjangoCache.memoize``);
``serve``: a pre-forking WSGI server (like ``gunicorn --preload``) that runs
the project in several worker processes sharing one cache directory.
"""
