"""Every client under test, behind one small interface (`Session`)."""

from benchkit.clients._base import Api, Candidate, Session, Unavailable
from benchkit.clients._catalogue import candidates

__all__ = ["Api", "Candidate", "Session", "Unavailable", "candidates"]
