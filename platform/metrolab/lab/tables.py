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


class LabSettings(Table, tablename="lab_settings"):
    """The lab's own particulars, printed on every certificate (one row, seeded from seed_data/lab.json)."""

    name = Varchar(length=100)  # 单位名称
    authorization_note = Varchar(length=300, default="")  # 检定机构授权说明
    authorization_no = Varchar(length=100, default="")  # 计量检定机构授权证书号
    address = Varchar(length=200, default="")
    postcode = Varchar(length=6, default="")
    phone = Varchar(length=50, default="")
    fax = Varchar(length=50, default="")
    website = Varchar(length=200, default="")
    seal_sha256 = Varchar(length=64, default="")  # 检定专用章, a PNG in metrolab.storage
    number_pattern = Varchar(length=40, default="")  # "" = the default pattern
    updated_at = Timestamptz(default=TimestamptzNow())


class SeriesCounter(Table, tablename="number_series_counter"):
    """The last sequence number used per series and year (``entrustment:2026``, ``record:2026`` …),
    row-locked by the upsert that increments it: numbers without duplicates, even under concurrency."""

    key = Varchar(length=60, unique=True)
    last_seq = Integer(default=0)
