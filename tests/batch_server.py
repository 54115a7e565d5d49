"""A real OpenAI-compatible Batch API on loopback, for the teacher's batch mode: the fault
server's chat answers, behind the minimal endpoints the SDK's batch calls use.

- `POST /v1/files` (multipart, purpose `batch`) stores a JSONL of requests;
  `GET /v1/files/{id}/content` returns a stored file
- `POST /v1/batches` queues a batch; `GET /v1/batches/{id}` reports it `in_progress` on
  its first poll and answers every line on the next (`completed`, with an output file and,
  where lines failed, an error file), like a slow provider would

The batches from number `hold_from` on (0: all) are held `in_progress` while `hold` is set
(a run that must wait). `line_faults`
gives the Nth line received overall a fault: `server_error` (an error-file line, 500) or
`bad_shape` (200 with a completion the tool loop cannot use). Every line is logged in the
fault server's log, so `requests()` counts what was paid; `batches` lists the batches made.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from email.parser import BytesParser
from email.policy import HTTP

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from fault_server import FaultServer


class BatchServer(FaultServer):
    def __init__(self, task, line_faults: dict[int, str] | None = None, **kwargs):
        super().__init__(task, **kwargs)
        self.line_faults = dict(line_faults or {})
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.hold, self.hold_from = threading.Event(), 0
        self._add_batch_routes()

    def _add_batch_routes(self) -> None:
        app = self.app

        @app.post("/v1/files")
        async def upload(request: Request):
            body = await request.body()
            head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
            parts = {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                     for part in BytesParser(policy=HTTP).parsebytes(head + body).iter_parts()}
            if parts.get("purpose") != b"batch" or "file" not in parts:
                return JSONResponse({"error": {"message": "purpose must be batch, with a file"}}, 400)
            return self._file(parts["file"], "batch")

        @app.get("/v1/files/{file_id}/content")
        async def content(file_id: str):
            if file_id not in self.files:
                return JSONResponse({"error": {"message": "no such file"}}, 404)
            return Response(self.files[file_id], media_type="application/octet-stream")

        @app.post("/v1/batches")
        async def create(request: Request):
            payload = await request.json()
            if payload.get("endpoint") != "/v1/chat/completions" or payload.get("completion_window") != "24h":
                return JSONResponse({"error": {"message": "unsupported endpoint or window"}}, 400)
            if payload.get("input_file_id") not in self.files:
                return JSONResponse({"error": {"message": "no such file"}}, 404)
            batch_id = f"batch_{uuid.uuid4().hex[:12]}"
            with self._lock:
                self.batches[batch_id] = {
                    "id": batch_id, "object": "batch", "endpoint": payload["endpoint"], "completion_window": "24h",
                    "input_file_id": payload["input_file_id"], "status": "validating", "created_at": int(time.time()),
                    "output_file_id": None, "error_file_id": None, "errors": None, "polls": 0, "number": len(self.batches),
                }
            return self._shown(batch_id)

        @app.get("/v1/batches/{batch_id}")
        async def retrieve(batch_id: str):
            with self._lock:
                batch = self.batches.get(batch_id)
                if batch is None:
                    return JSONResponse({"error": {"message": "no such batch"}}, 404)
                batch["polls"] += 1
            if batch["status"] != "completed":
                if batch["polls"] < 2 or (self.hold.is_set() and batch["number"] >= self.hold_from):
                    batch["status"] = "in_progress"
                else:
                    self._run(batch)
            return self._shown(batch_id)

    def _file(self, data: bytes, purpose: str) -> dict:
        file_id = f"file-{uuid.uuid4().hex[:12]}"
        self.files[file_id] = data
        return {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                "filename": "input.jsonl", "purpose": purpose, "status": "processed"}

    def _shown(self, batch_id: str) -> dict:
        return {k: v for k, v in self.batches[batch_id].items() if k not in ("polls", "number")}

    def _run(self, batch: dict) -> None:
        """Answer every line of the batch's input file, as the chat endpoint would."""
        output, errors = [], []
        for line in self.files[batch["input_file_id"]].decode().splitlines():
            request = json.loads(line)
            with self._lock:
                number = len(self.log)
                fault = self.line_faults.get(number)
                self.log.append({"time": time.monotonic(), "hash": request["custom_id"], "fault": fault, "batch": batch["id"]})
            row = {"id": f"batch_req_{uuid.uuid4().hex[:8]}", "custom_id": request["custom_id"]}
            if fault == "server_error":
                errors.append({**row, "response": {"status_code": 500, "body": {"error": {"message": "boom"}}}, "error": None})
                continue
            body = self.completion(request["body"], fault)
            output.append({**row, "response": {"status_code": 200, "request_id": row["id"], "body": body}, "error": None})
        batch["output_file_id"] = self._file("".join(json.dumps(r) + "\n" for r in output).encode(), "batch_output")["id"]
        if errors:
            batch["error_file_id"] = self._file("".join(json.dumps(r) + "\n" for r in errors).encode(), "batch_output")["id"]
        batch["status"] = "completed"
