"""Decoded frames to an ABR ladder, CMAF segments and parts, HLS/LL-HLS playlists, storage, thumbnails."""
