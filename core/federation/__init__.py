"""Federation: searching other instances (peers) beside our own entries, as Bailo does.

``config`` reads and checks the peers' configuration (the settings call it at start-up);
``core.ports.peers`` holds one connector per kind of peer; ``service`` asks the peers, in
parallel and each within its own time limit, and caches their answers; ``escalation`` is the
receiving side of Bailo's ``x-user`` / ``x-bailo-id`` headers.
"""
