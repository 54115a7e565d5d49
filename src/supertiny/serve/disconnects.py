"""A client that hangs up costs nothing more: its job is cancelled while it waits in the queue.

Starlette does not cancel a handler whose client has gone, so a request abandoned by its
client (a timeout, a killed process) would still be decoded, delaying everyone queued behind
it. The handler waits for the answer or the disconnect, whichever comes first.
"""

from __future__ import annotations

import asyncio

from fastapi import Request


class ClientGone(Exception):
    pass


async def answer_unless_gone(answer: asyncio.Future, request: Request):
    """The prediction; ClientGone (and the job cancelled, so a queued one is never decoded) if
    the client disconnects first."""
    gone = asyncio.ensure_future(disconnected(request))
    try:
        await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not answer.done():
        answer.cancel()  # cancels the batcher's job too, unless it is already running
        raise ClientGone
    return answer.result()


async def disconnected(request: Request) -> None:
    """Return once the client has hung up (the body is read: all that can come is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
