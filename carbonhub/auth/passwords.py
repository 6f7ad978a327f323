"""Memory-hard hashes of secrets people or clients type: passwords and client secrets.

Argon2id (RFC 9106) with the cost from the settings. Stored hashes carry their own
parameters, so raising the cost later only needs :meth:`PasswordHasher.needs_rehash` at the
next successful sign-in.
"""

from __future__ import annotations

import threading

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from carbonhub.settings import Settings

# RFC 9106's second recommended option uses 4 lanes; every lane needs at least 8 KiB, so
# tiny test memory settings use fewer lanes.
_LANES = 4
_KIB_PER_LANE = 8


class PasswordHasher:
    """Hash and verify secrets with Argon2id; a mismatch is ``False``, never an exception."""

    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        """Use ``time_cost`` iterations over ``memory_kib`` KiB of memory."""
        lanes = max(1, min(_LANES, memory_kib // _KIB_PER_LANE))
        self._argon2 = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=lanes,
            type=argon2.Type.ID,
        )
        self._dummy_hash: str | None = None
        self._dummy_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordHasher:
        """The hasher with the deployment's cost (``password_time_cost``, ``password_memory_kib``)."""
        return cls(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)

    def hash(self, secret: str) -> str:
        """A salted Argon2id hash of ``secret`` in PHC string form (parameters included)."""
        return self._argon2.hash(secret)

    def verify(self, hashed: str, secret: str) -> bool:
        """Whether ``secret`` matches ``hashed``; malformed hashes and mismatches give False."""
        try:
            return self._argon2.verify(hashed, secret)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, hashed: str) -> bool:
        """Whether ``hashed`` was made with other parameters than this hasher's (or is malformed)."""
        try:
            return self._argon2.check_needs_rehash(hashed)
        except InvalidHashError:
            return True

    def spend_verification(self, secret: str) -> None:
        """Spend the time of one verification without a real hash to check.

        Called when there is nothing to check ``secret`` against (an unknown username), so that
        the response time does not tell which names exist.
        """
        with self._dummy_lock:
            if self._dummy_hash is None:
                self._dummy_hash = self.hash("carbonhub: no such account")
            dummy = self._dummy_hash
        self.verify(dummy, secret)
