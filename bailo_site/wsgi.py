from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from core.connection import close_aware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bailo_site.settings")
# close_aware: a refusal sent before the request body was read closes the connection.
application = close_aware(get_wsgi_application())
