"""Sign-in throttling and session expiry: the pure, in-memory half of signing in.

:class:`SignInThrottle` slows guessing down per *(source, username)* (see :mod:`geo.accounts`
for why there is no account-wide lock); :func:`session_expired` ends sessions that were idle or
open too long.  Neither touches the database; :func:`geo.accounts.authenticate` uses both.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict

#: Failures per (source, username) that are not slowed down.
FREE_FAILURES = 5
#: Delay after the first failure beyond :data:`FREE_FAILURES`; it doubles with each further one.
FIRST_DELAY = dt.timedelta(seconds=2)
#: Longest delay between two checked attempts from one source for one name.
MAX_DELAY = dt.timedelta(minutes=5)
#: Sources remembered at most (oldest forgotten first), so a flood cannot exhaust memory.
MAX_THROTTLE_ENTRIES = 10_000
#: A session ends after this long without activity ...
IDLE_TIMEOUT = dt.timedelta(minutes=30)
#: ... and in any case this long after sign-in.
ABSOLUTE_TIMEOUT = dt.timedelta(hours=8)


class SignInThrottle:
    """Growing delays between sign-in attempts per (source, username), kept in memory.

    A *source* is whatever identifies where attempts come from: the client's network address
    when known, else a fixed bucket (see the app's :func:`harta_ui.sign_in_source`).  Only
    checked failures count and grow the delay; an attempt inside the delay is refused without
    being checked and without growing it, so someone hammering the form cannot push the delay
    further.  A success clears the entry.

    Parameters
    ----------
    free : int
        Failures that are not slowed down.
    first, cap : timedelta
        First delay (doubling afterwards) and its upper bound.
    max_entries : int
        Entries kept at most; the least recently failed are forgotten first.
    """

    def __init__(
        self,
        free: int = FREE_FAILURES,
        first: dt.timedelta = FIRST_DELAY,
        cap: dt.timedelta = MAX_DELAY,
        max_entries: int = MAX_THROTTLE_ENTRIES,
    ) -> None:
        self.free, self.first, self.cap, self.max_entries = free, first, cap, max_entries
        self._entries: OrderedDict[tuple[str, str], tuple[int, dt.datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def _delay(self, failures: int) -> dt.timedelta:
        if failures < self.free:
            return dt.timedelta(0)
        return min(self.cap, self.first * 2 ** min(failures - self.free, 30))

    def wait(self, source: str, username: str, now: dt.datetime) -> dt.timedelta:
        """How long ``source`` must still wait before an attempt for ``username`` is checked.

        Parameters
        ----------
        source : str
        username : str
        now : datetime

        Returns
        -------
        timedelta
            Zero when the next attempt will be checked.
        """
        with self._lock:
            entry = self._entries.get((source, username))
        if entry is None:
            return dt.timedelta(0)
        failures, last = entry
        return max(dt.timedelta(0), last + self._delay(failures) - now)

    def failed(self, source: str, username: str, now: dt.datetime) -> None:
        """Count a checked failure.

        Parameters
        ----------
        source : str
        username : str
        now : datetime
        """
        key = (source, username)
        with self._lock:
            failures = self._entries.pop(key, (0, now))[0] + 1
            self._entries[key] = (failures, now)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def succeeded(self, source: str, username: str) -> None:
        """Forget the failures of ``source`` for ``username`` (the right password was given).

        Parameters
        ----------
        source : str
        username : str
        """
        with self._lock:
            self._entries.pop((source, username), None)

    def clear(self, username: str) -> None:
        """Forget every source's failures for ``username`` (an administrator unlocked it).

        Parameters
        ----------
        username : str
        """
        with self._lock:
            for key in [k for k in self._entries if k[1] == username]:
                del self._entries[key]


def session_expired(
    signed_in_at: dt.datetime,
    last_seen_at: dt.datetime,
    now: dt.datetime,
    idle: dt.timedelta = IDLE_TIMEOUT,
    absolute: dt.timedelta = ABSOLUTE_TIMEOUT,
) -> bool:
    """Whether a session must end: idle too long, or signed in too long ago.

    Pure function on timestamps (all timezone-aware, or all naive).

    Parameters
    ----------
    signed_in_at : datetime
        When the person signed in.
    last_seen_at : datetime
        Their last request.
    now : datetime
        Current time.
    idle, absolute : timedelta
        Limits (:data:`IDLE_TIMEOUT`, :data:`ABSOLUTE_TIMEOUT`).

    Returns
    -------
    bool
        True when ``now - last_seen_at >= idle`` or ``now - signed_in_at >= absolute``, or when
        the timestamps are inconsistent (in the future).
    """
    if last_seen_at > now or signed_in_at > now or last_seen_at < signed_in_at:
        return True
    return now - last_seen_at >= idle or now - signed_in_at >= absolute
