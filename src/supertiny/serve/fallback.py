"""`supertiny serve --fallback`: requests the deployed model is unsure of go to the teacher.

The threshold comes from the calibrate stage (metrics/cascade.json). The teacher is the
prototype pipeline the students learned from, run with the `teach` params (endpoint, key
from the environment, timeouts, retries) and no response cache: production requests are
not written to disk except in the hand-off log. A teacher that fails or is down never takes
the tiny path down: the client gets the tiny model's answer, marked as such.

Every hand-off is appended to a JSONL log (rotated by size) as a task example with both
answers: the requests production found hard, which `prepare.handoffs` adds to the next
round's train split (supertiny.handoffs).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import logging.handlers
import threading
from pathlib import Path

from supertiny.cascade import handed_off, usable_confidence
from supertiny.errors import SupertinyError
from supertiny.handoffs import handoff_row
from supertiny.params import TeachParams
from supertiny.runtime.prediction import Prediction

log = logging.getLogger("supertiny.serve")


class Fallback:
    def __init__(self, teach: TeachParams, task, threshold: float, log_path: str | Path, log_max_bytes: int = 64 << 20, log_backups: int = 5):
        from supertiny.runtime.teacher import TeacherPredictor

        self.teacher = TeacherPredictor(None, task, dataclasses.replace(teach, cache_dir=None))
        self.threshold = threshold
        self._log = _rotating_log(Path(log_path), log_max_bytes, log_backups)
        self._lock = threading.Lock()

    def needed(self, prediction: Prediction) -> bool:
        return handed_off(usable_confidence(prediction.answer, prediction.confidence), self.threshold)

    def answer(self, example: dict, tiny: Prediction) -> tuple[Prediction, str | None]:
        """(the teacher's prediction, None), or (the tiny model's, why the teacher could not
        answer). Runs in a worker thread: the teacher's tool loop blocks on its endpoint."""
        try:
            teacher = self.teacher.predict([example])[0]
            error = None if teacher.answer is not None else "the teacher gave no valid answer"
        except SupertinyError as failure:
            teacher, error = None, str(failure).split(" (last: ")[0]
        except Exception as failure:  # a teacher bug must not fail the request the tiny model answered
            teacher, error = None, f"the teacher failed ({type(failure).__name__})"
        self._record(example, tiny, teacher, error)
        if error:
            log.warning("hand-off failed, answering with the tiny model: %s", error)
            return tiny, error
        return teacher, None

    def _record(self, example: dict, tiny: Prediction, teacher: Prediction | None, error: str | None) -> None:
        row = handoff_row(example, tiny, teacher, self.threshold, error)
        with self._lock:
            self._log.info(json.dumps(row, ensure_ascii=False))


def _rotating_log(path: Path, max_bytes: int, backups: int) -> logging.Logger:
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"supertiny.handoffs.{path.resolve()}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    if not logger.handlers:
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    return logger


def read_threshold(path: str | Path, confidence: str) -> float:
    """The calibrated threshold from the calibrate stage's metrics, refused if it was picked on
    another confidence than the server computes (`generation.confidence` changed in params.yaml
    and calibrate has not rerun). Metrics from before calibrate recorded it are `lowest_token`'s,
    then the only confidence."""
    from supertiny.jsonl import read_json

    metrics = read_json(path)
    if not isinstance(metrics.get("threshold"), (int, float)):
        raise SupertinyError(f"{path}: no numeric `threshold` (run `dvc repro calibrate`, or pass --fallback-threshold)")
    calibrated = metrics.get("confidence", "lowest_token")
    if calibrated != confidence:
        raise SupertinyError(
            f"{path}: `threshold` was calibrated on confidence {calibrated!r}, params.yaml's generation.confidence is {confidence!r} "
            "(run `dvc repro calibrate`, or pass --fallback-threshold)"
        )
    return float(metrics["threshold"])
