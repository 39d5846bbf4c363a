"""How a payload moves along a call path: the pure rules, without Thespian.

The thread carries the call path. A *forward* pushes the forwarding
listener as a hop; a *respond* pops the last hop and goes there, echoing
that hop's token. So a reply always returns to the previous hop, whatever
the names look like (the original recovered hops with regexes and sent
replies astray when names held dots). Both keep the thread's ``deadline``:
a forwarded call, and an answer a listener goes on with, are for the same
waiting caller.
"""

from __future__ import annotations

from .messages import Address, Authority, Delivery, Hop
from .parsed import Payload

__all__ = [
    "respond",
    "forward",
    "may_send",
    "refusal_text",
]

def respond(
    to: Delivery, payload: Payload, sender: str, authority: Authority = None
) -> tuple[Address, Delivery] | None:
    """The reply to delivery ``to``: where it goes and what it carries.

    Returns None when ``to`` has no caller (an outside ``tell``): the reply
    has nowhere to go and the thread ends.
    """
    if not to.path:
        return None
    hop = to.path[-1]
    reply = Delivery(
        target=hop.name,
        sender=sender,
        thread_id=to.thread_id,
        payload=payload,
        path=to.path[:-1],
        token=hop.token,
        authority=authority,
        deadline=to.deadline,
    )
    return hop.address, reply


def forward(
    origin: Delivery,
    payload: Payload,
    sender: str,
    to: str,
    sender_address: Address,
    authority: Authority = None,
) -> Delivery:
    """The delivery that carries ``payload`` from ``sender`` on to listener ``to``.

    The sender is pushed on the path, so the answer comes back to it.
    """
    return Delivery(
        target=to,
        sender=sender,
        thread_id=origin.thread_id,
        payload=payload,
        path=(*origin.path, Hop(sender, sender_address)),
        authority=authority,
        principal=sender,
        deadline=origin.deadline,
    )


def may_send(peers: Authority, target: str) -> bool:
    """Whether a listener limited to ``peers`` may send to ``target`` (None: anywhere)."""
    return peers is None or target in peers


def refusal_text(sender: str, target: str, peers: Authority) -> str:
    """The ``<huh>`` text for a send outside the sender's peers."""
    allowed = ", ".join(sorted(peers or ())) or "none"
    return f"Listener {sender} may not send to {target}: not a peer (allowed peers: {allowed})"
