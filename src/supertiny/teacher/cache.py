"""The teacher's response cache: every paid response, stored under a hash of its request.

A rerun, or a run killed halfway and restarted, asks the endpoint only for what the cache
lacks. SQLite (write-ahead log, one committed transaction per response) keeps the file
consistent when the process is killed at any instant, and lets several processes share it.
The cache holds responses (and the ids of Batch API jobs still pending) only: no key, no
header, nothing secret. The connection is
checkpointed and closed when the cache is dropped or the process exits, so the file alone
(without its `-wal`) holds every response. A damaged row or page is a miss (paid again),
never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import weakref
from pathlib import Path

from supertiny.errors import SupertinyError

CACHE_FILE = "responses.sqlite"


def request_key(base_url: str | None, request: dict) -> str:
    """sha256 of the endpoint and the full request (model, messages, tools, sampling, seed)."""
    canonical = json.dumps({"base_url": (base_url or "").rstrip("/"), "request": request}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, folder: str | Path):
        self.path = Path(folder) / CACHE_FILE
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # with WAL: a killed process loses no commit
            self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, response TEXT NOT NULL, created REAL NOT NULL)")
            # Batch API jobs submitted and not yet read back (teacher.batch): a rerun waits for them instead of paying again
            self._db.execute("CREATE TABLE IF NOT EXISTS batches (requests TEXT PRIMARY KEY, batch_id TEXT NOT NULL, created REAL NOT NULL)")
        except (OSError, sqlite3.Error) as error:
            raise SupertinyError(f"{self.path}: cannot open the response cache ({error})") from None
        self._lock = threading.Lock()
        self._closer = weakref.finalize(self, _checkpoint_and_close, self._db)  # also at interpreter exit

    def get(self, key: str) -> dict | None:
        """The stored response, or None when there is none or it cannot be read back."""
        try:
            with self._lock:
                row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
            return json.loads(row[0]) if row else None
        except (sqlite3.DatabaseError, ValueError, TypeError):
            return None

    def put(self, key: str, response: dict) -> None:
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO responses (key, response, created) VALUES (?, ?, ?)",
                    (key, json.dumps(response, ensure_ascii=False), time.time()),
                )
        except sqlite3.Error as error:
            raise SupertinyError(f"{self.path}: cannot store a response ({error}); delete the file to start a new cache") from None

    def submitted_batch(self, requests: str) -> str | None:
        """The id of the batch submitted for this set of requests (`requests`: a hash of their keys), if any."""
        try:
            with self._lock:
                row = self._db.execute("SELECT batch_id FROM batches WHERE requests = ?", (requests,)).fetchone()
            return row[0] if row else None
        except sqlite3.DatabaseError:
            return None

    def remember_batch(self, requests: str, batch_id: str | None) -> None:
        """Record (or, None, forget) the batch submitted for a set of requests."""
        try:
            with self._lock:
                if batch_id is None:
                    self._db.execute("DELETE FROM batches WHERE requests = ?", (requests,))
                else:
                    self._db.execute("INSERT OR REPLACE INTO batches (requests, batch_id, created) VALUES (?, ?, ?)", (requests, batch_id, time.time()))
        except sqlite3.Error as error:
            raise SupertinyError(f"{self.path}: cannot record a batch ({error}); delete the file to start a new cache") from None

    def close(self) -> None:
        self._closer()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]


def _checkpoint_and_close(db: sqlite3.Connection) -> None:
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error:
        pass  # another process holds it: the -wal stays, still consistent
    db.close()
