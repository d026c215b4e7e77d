"""Bounded request inputs for the JSON API and pages: ids, page numbers, search text, short texts.

Every path id, query number and free text a client sends is bounded here, so a value the database
cannot hold (an integer above 2³¹, a NUL byte in text, a 10 MB "name") is answered 400 with the field
named, never a database error. Use these in handler signatures and in request `Struct`s:

    async def api_customer(customer_id: Id) -> ...
    async def api_customers(q: SearchText = "", page_no: PageNo = 1) -> ...
    class CustomerIn(msgspec.Struct): name: ShortText
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import Parameter

INT32_MAX = 2_147_483_647
# Text a person types: no NUL (PostgreSQL cannot store it), no other C0 control but tab/newline.
_PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"

Id = Annotated[int, Parameter(ge=1, le=INT32_MAX, description="编号（正整数）")]
# An optional id or code (`= None`): the bounds go on the whole Optional, or Litestar drops them.
OptionalId = Annotated[int | None, Parameter(ge=1, le=INT32_MAX, description="编号（正整数）")]
OptionalCode = Annotated[
    str | None, Parameter(min_length=1, max_length=100, pattern=r"^[\w.\-]+$", description="代码")
]
PageNo = Annotated[int, Parameter(ge=1, le=100_000, description="页码，从 1 起")]
Days = Annotated[int, Parameter(ge=0, le=3660, description="天数（0–3660）")]
SearchText = Annotated[
    str, Parameter(max_length=200, pattern=_PRINTABLE, description="检索文字（至多 200 字）")
]
Code = Annotated[
    str, Parameter(min_length=1, max_length=100, pattern=r"^[\w.\-]+$", description="代码")
]

# For request bodies (msgspec Structs); the same bounds as the columns they land in.
StructId = Annotated[int, msgspec.Meta(ge=1, le=INT32_MAX)]
ShortText = Annotated[str, msgspec.Meta(max_length=200, pattern=_PRINTABLE)]
LongText = Annotated[str, msgspec.Meta(max_length=20_000, pattern=_PRINTABLE)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
