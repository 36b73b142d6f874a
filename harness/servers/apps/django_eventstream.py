"""django-eventstream, as its README sets it up: ``include(django_eventstream.urls)`` with a fixed
channel per route, ``send_event`` to publish, ``DjangoModelStorage`` so that a client resumes
from ``Last-Event-ID``, served as ASGI by Daphne.

The library's model is a channel that a publisher feeds and every client subscribes to; its
streams never end, and a new client starts at the channel's current event (only a
``Last-Event-ID`` replays stored ones). So the app's publisher sends ``event N`` every
:data:`~harness.servers.apps.stream.INTERVAL_S` on channel ``stream`` from start, and ``/stream``
carries those as they come, with the library's own ids (``stream:N``), never ending. ``/idle`` is
channel ``idle``, where nothing is published: only the library's keep-alive crosses the wire.
Settings are made in code and the storage's tables migrated into a fresh SQLite file at start.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import django
from django.conf import settings

from harness.servers.apps.stream import INTERVAL_S, data

#: Holds the SQLite file; removed when the process exits.
_DATABASE = tempfile.TemporaryDirectory(prefix="sse-harness-eventstream-")

settings.configure(
    DEBUG=False,
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    SECRET_KEY="sse-harness-matrix-example",  # an example app on loopback, no sessions
    MIDDLEWARE=[],
    INSTALLED_APPS=["daphne", "django_eventstream"],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(Path(_DATABASE.name) / "events.sqlite3"),
        }
    },
    EVENTSTREAM_STORAGE_CLASS="django_eventstream.storage.DjangoModelStorage",
)
django.setup()

import django_eventstream  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.urls import include, path  # noqa: E402

call_command("migrate", verbosity=0)

urlpatterns = [
    path("stream", include(django_eventstream.urls), {"channels": ["stream"]}),
    path("idle", include(django_eventstream.urls), {"channels": ["idle"]}),
]


def _publish() -> None:
    """Feeds channel ``stream`` for as long as the app runs (the storage numbers the events)."""
    n = 1
    while True:
        django_eventstream.send_event("stream", "message", data(n), json_encode=False)
        n += 1
        time.sleep(INTERVAL_S)


app = get_asgi_application()
threading.Thread(target=_publish, name="publisher", daemon=True).start()
