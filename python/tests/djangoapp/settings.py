"""Settings of the test project.

The default cache is ``$DJANGOAPP_CACHE_BACKEND`` (``diskcache_go.DjangoCache``
unless set) in ``$DJANGOAPP_CACHE_DIR`` (a directory under the system's temp
directory unless set).
"""

import os
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

SECRET_KEY = 'diskcache-go-test-project'
DEBUG = False
ALLOWED_HOSTS = ['127.0.0.1', 'localhost', 'testserver']
ROOT_URLCONF = 'djangoapp.urls'
INSTALLED_APPS = ['djangoapp']
MIDDLEWARE = ['djangoapp.middleware.WorkerPidMiddleware']
DATABASES = {
    'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'},
}
DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'
TEMPLATES = [
    {
        'BACKEND': 'django.template.backends.django.DjangoTemplates',
        'DIRS': [os.path.join(HERE, 'templates')],
        'APP_DIRS': False,
    },
]
USE_TZ = True
TIME_ZONE = 'UTC'
LOGGING_CONFIG = None

CACHES = {
    'default': {
        'BACKEND': os.environ.get('DJANGOAPP_CACHE_BACKEND', 'diskcache_go.DjangoCache'),
        'LOCATION': os.environ.get(
            'DJANGOAPP_CACHE_DIR',
            os.path.join(tempfile.gettempdir(), 'djangoapp-cache'),
        ),
        'SHARDS': 4,
        'TIMEOUT': 300,
    },
}
