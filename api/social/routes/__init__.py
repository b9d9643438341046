"""HTTP handlers of the social domains, one module per domain, each with its request and response models."""

from api.routing import Routes
from api.social.routes import (
    activity,
    content,
    messaging,
    notifications,
    profiles,
    search,
    settings,
    sounds,
    stories,
    trending,
)

TABLES: list[Routes] = [
    profiles.routes,
    content.routes,
    stories.routes,
    sounds.routes,
    messaging.routes,
    notifications.routes,
    activity.routes,
    settings.routes,
    trending.routes,
    search.routes,
]
