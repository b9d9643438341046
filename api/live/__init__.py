"""The edges of the live-room domain (``rooms``): REST endpoints (``routes``), the Socket.IO ``/live``
namespace (``sockets``), and the adapters that plug the ledger (``charger``), the media engine (``media``),
commerce (``orders``), social (``followers``) and the AI provider (``moderator``) into the domain's small
protocols. ``setup.install`` wires them into the application."""
