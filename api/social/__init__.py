"""The social REST domains: profiles, content and feed, stories, sounds, messaging, notifications, activity,
settings, trending and search. Services hold the rules; ``api.social.routes`` holds thin HTTP handlers."""
