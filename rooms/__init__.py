"""The live-room domain: presence, chat, gifts, PK battles, live shopping and co-hosts, over a RoomStore.

Pure domain: no HTTP, no Socket.IO. Every change is a numbered room event (``events``) appended to the
room's log in the ``RoomStore`` (``memory_store`` in process, ``redis_store`` for many nodes) and handed to
the edge's sink for broadcast. ``Room`` (audience side), ``GiftDesk``, ``PkBattles`` + ``PkReferee``,
``Stage`` (co-hosts), ``LiveShopping`` and ``Livestreams`` (lifecycle) are assembled by ``RoomService``;
the ledger, media engine, commerce, social and AI sides plug in through small protocols (``GiftCharger``,
``MediaControl``, ``OrderPlacer``, ``Followers``, ``TextModerator``).
"""
