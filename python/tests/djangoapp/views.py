"""Views that use Django's cache machinery.

Counters kept in this module count how often a view body really ran in
this process; counters kept in the cache count across processes.
"""

import os
import time

from django.core.cache import caches
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control, cache_page

CALLS = {'hello': 0, 'private': 0, 'page': 0, 'fragment': 0}


def _count(name):
    CALLS[name] += 1
    return CALLS[name]


def hello(request):
    """A page for the cache middleware: its body changes on every run."""
    return HttpResponse('Hello %d' % _count('hello'))


@cache_control(private=True)
def private(request):
    """``Cache-Control: private``: the middleware must not cache it."""
    return HttpResponse('Private %d' % _count('private'))


def _page_body(request):
    return 'page run %d in %d at %r, query %s' % (
        _count('page'),
        os.getpid(),
        time.time(),
        request.GET.urlencode(),
    )


@cache_page(60)
def page(request):
    """A ``cache_page`` view in the default cache."""
    return HttpResponse(_page_body(request))


@cache_page(60, cache='other', key_prefix='elsewhere')
def page_other(request):
    """A ``cache_page`` view in the cache named ``other``."""
    return HttpResponse(_page_body(request))


def fragment(request):
    """A template with a ``{% cache %}`` fragment keyed by ``?user=``."""
    context = {
        'user': request.GET.get('user', 'anonymous'),
        'renders': _count('fragment'),
        'pid': os.getpid(),
    }
    return render(request, 'fragment.html', context)


def incr(request):
    """Counts requests across every process sharing the cache."""
    cache = caches['default']
    cache.add('hits', 0, timeout=None)
    return JsonResponse({'value': cache.incr('hits'), 'pid': os.getpid()})


_square = None


def _squarer():
    # Built once per process (the pre-fork server builds it before forking,
    # so the workers share the DjangoCache object made in the parent).
    global _square
    if _square is None:
        cache = caches['default']

        @cache.memoize(name='square', timeout=None)
        def square(n):
            cache.incr('square-runs', default=0)
            return n * n

        _square = square
    return _square


def square(request, n):
    """``DjangoCache.memoize``: runs once per ``n`` across processes (up to
    races between first callers)."""
    return JsonResponse({'value': _squarer()(n), 'pid': os.getpid()})


def pid(request):
    return JsonResponse({'pid': os.getpid()})
