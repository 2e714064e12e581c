"""Server settings with no JWT secret (only reachable this way in development): for the
"Server configuration error" handshake rejection."""

from vlvt.settings import *  # noqa: F403

JWT_SECRET = ""
