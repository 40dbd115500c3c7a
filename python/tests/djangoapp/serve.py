"""Pre-forking WSGI server for the test project, in the manner of
``gunicorn --preload``::

    python -m djangoapp.serve --workers 4 --port-file PATH [--lifetime 120]

The parent sets Django up, imports the views and uses the cache, so the
storage engine is loaded and cache objects exist before the fork (as with
``--preload``). It listens on 127.0.0.1 on a free port, forks the workers,
then writes the port to PATH. Each worker appends its pid to the cache's
deque ``workers`` and answers requests on the shared socket, one at a time.

Everything stops on SIGTERM to the parent, when ``--lifetime`` seconds have
passed, or (for a worker) when the parent is gone. The parent exits with 1
if a worker failed.
"""

import argparse
import os
import signal
import socket
import sys
import time
import traceback
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class SharedSocketServer(WSGIServer):
    def get_request(self):
        connection, address = self.socket.accept()
        # Some systems hand out connections non-blocking like the listener.
        connection.setblocking(True)
        return connection, address


def serve(listener, app, deadline, parent):
    from django.core.cache import caches

    caches['default'].deque('workers').append(os.getpid())
    server = SharedSocketServer(listener.getsockname(), QuietHandler, bind_and_activate=False)
    server.socket.close()
    server.socket = listener
    server.server_name = 'localhost'
    server.server_port = listener.getsockname()[1]
    server.setup_environ()
    server.set_app(app)
    server.timeout = 0.2
    # The listener is non-blocking: a worker that loses the race for a
    # connection gets EAGAIN from accept (ignored by socketserver) instead
    # of blocking until the next one.
    while time.monotonic() < deadline and os.getppid() == parent:
        server.handle_request()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--workers', type=int, default=4)
    parser.add_argument('--port-file', required=True)
    parser.add_argument('--lifetime', type=float, default=120.0)
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.lifetime

    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'djangoapp.settings')
    import django

    django.setup()
    from django.core.cache import caches
    from django.core.wsgi import get_wsgi_application

    from djangoapp import views

    app = get_wsgi_application()
    views._squarer()  # preloaded: the workers inherit this memoized function
    caches['default'].set('server-pid', os.getpid(), timeout=None)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('127.0.0.1', 0))
    listener.listen(128)
    listener.setblocking(False)

    parent = os.getpid()
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                serve(listener, app, deadline, parent)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)

    stop = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))
    partial = args.port_file + '.partial'
    with open(partial, 'w') as writer:
        writer.write('%d\n' % listener.getsockname()[1])
    os.replace(partial, args.port_file)

    failed = False
    running = set(children)
    while running and not stop and time.monotonic() < deadline:
        time.sleep(0.05)
        for pid in list(running):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                running.discard(pid)
                if status != 0:
                    print('worker %d ended with status %d' % (pid, status), file=sys.stderr)
                    failed = True
    for pid in running:
        os.kill(pid, signal.SIGTERM)
    for pid in running:
        os.waitpid(pid, 0)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
