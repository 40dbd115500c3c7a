"""Marks every response with the process that served it."""

import os


class WorkerPidMiddleware:
    """Adds ``X-Worker-Pid``; it runs outside ``cache_page``, so a cached
    page still tells which worker answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response['X-Worker-Pid'] = str(os.getpid())
        return response
