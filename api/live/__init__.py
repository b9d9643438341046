"""The edges of the live-room domain (``rooms``): REST endpoints (``routes``), the Socket.IO ``/live``
namespace (``sockets``), and the adapters that plug the ledger (``charger``), the media engine and each
live's program (``media``, ``pkstage``), commerce (``orders``) and the AI provider (``moderator``) into the
domain's small protocols; social's notifications are the domain's ``Followers`` as they are.
``setup.install`` wires them into the app."""
