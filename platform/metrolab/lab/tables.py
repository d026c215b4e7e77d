"""Tables of the lab feature."""

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class PublicPage(Table, tablename="public_page"):
    """A page of the public service platform (§5.2): introduction, duties, departments, staffing, leadership."""

    slug = Varchar(length=50, unique=True)
    position = Integer(default=0)
    title_zh = Varchar(length=100)
    title_en = Varchar(length=100, default="")
    body_zh = Text(default="")
    body_en = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())
