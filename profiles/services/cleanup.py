"""Account-erasure cleanup of stored images (called by auth-service; docs/contract.md,
"Internal routes").

Deletes the listed photo keys, their thumbnails, and everything under the user's photo, After Hours
photo and selfie prefixes (docs/contract.md, D17: the original left thumbnails, After Hours photos and
selfies behind, a GDPR gap).
"""

from __future__ import annotations

import logging

from profiles import storage

log = logging.getLogger(__name__)


def photos_cleanup_user(*, user_id: str, photo_keys: list[str]) -> tuple[int, int]:
    """(deleted, failed)."""
    values = [k for k in photo_keys if isinstance(k, str) and k]
    deleted, failed = storage.delete_user_files(user_id, values)
    log.info("internal photo cleanup", extra={"deleted": deleted, "failed": failed})
    return deleted, failed
