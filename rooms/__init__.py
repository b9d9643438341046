"""The live-room domain: presence, chat, gifts, PK battles, live shopping and co-hosts, over a RoomStore."""
