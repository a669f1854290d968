"""Row ids as the API accepts them: positive and within a signed 64-bit integer.

The database driver refuses a larger number with an overflow error, which must be a
clear 4xx for the caller, never a 500.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field, StrictInt

MAX_ID = 2**63 - 1

IdPath = Annotated[int, Path(gt=0, le=MAX_ID, description="Row id")]
IdQuery = Annotated[int | None, Query(gt=0, le=MAX_ID)]
IdField = Annotated[StrictInt, Field(gt=0, le=MAX_ID)]
