"""The HTTP front: a strict HTTP/1.1 subset for GET, kept apart from I/O (parser) and from it (server)."""
