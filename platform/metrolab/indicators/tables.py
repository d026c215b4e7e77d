"""Tables of the indicator database (指标库, DB1304/T 505 §5.4.2 器具基本信息, §5.4.3 检定指标)."""

from piccolo.columns import JSON, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class InstrumentType(Table, tablename="instrument_type"):
    """器具类型 with its verification items (检定项目).

    The items are kept as one JSON list inside the type, not as rows of their own: a type and its
    items change together (one edit, one revision, one import file), record forms and records take
    the whole catalogue as one snapshot, and the engine reads exactly this shape. Nothing queries a
    single item across types, which is what a separate table would buy.
    """

    code = Varchar(length=64, unique=True)
    name_zh = Varchar(length=200)
    name_en = Varchar(length=200, default="")
    category = Varchar(length=100, default="", index=True)
    model = Varchar(length=200, default="")
    manufacturer = Varchar(length=200, default="")
    measuring_range = Varchar(length=300, default="")  # 测量范围 (中文)
    measuring_range_en = Varchar(length=300, default="")
    range_limits = JSON(
        default={}
    )  # {"lower": "0", "upper": "15", "unit": "m"} when the type has one range
    record_fields = JSON(default={})  # record fields holding the instrument's own range/unit/class
    accuracy = Varchar(length=200, default="")  # 准确度等级
    mpe = Varchar(length=200, default="")  # 最大允许误差 (text, e.g. "±0.30 %")
    regulation_code = Varchar(length=100, default="")  # JJG 443
    regulation_edition = Varchar(length=50, default="")  # 2023 — editions are data
    regulation_name = Varchar(length=300, default="")
    cycle_months = Integer(default=12)
    compulsory = Boolean(default=False)  # 强制检定
    environment = JSON(default={})
    record_form = Varchar(length=100, default="")  # form definition key
    certificate_template = Varchar(
        length=100, default=""
    )  # 检定证书 template key; "" = the shipped one
    notice_template = Varchar(
        length=100, default=""
    )  # 检定结果通知书 template key; "" = the shipped one
    items = JSON(default=[])
    decision_rule = Varchar(length=40, default="")  # 判定规则: "" / simple, jjf1094, guard_band
    source = Text(default="")
    note = Text(default="")
    to_be_confirmed = Boolean(default=False)
    active = Boolean(default=True)
    revision = Integer(default=1)  # +1 on every change, so a snapshot can say which one it took
    updated_at = Timestamptz(default=TimestamptzNow())


class Standard(Table, tablename="measurement_standard"):
    """计量标准装置 (kind "device") or 标准器 (kind "instrument")."""

    kind = Varchar(length=20, default="instrument", index=True)
    code = Varchar(length=64, unique=True)
    name = Varchar(length=200)
    name_en = Varchar(length=200, default="")
    model = Varchar(length=100, default="")
    serial_no = Varchar(length=100, default="")
    measuring_range = Varchar(length=300, default="")
    uncertainty = Varchar(length=300, default="")  # 不确定度 / 准确度等级 / 最大允许误差
    certificate_no = Varchar(length=150, default="")
    calibrated_by = Varchar(length=200, default="")  # 检定/校准机构
    valid_until = Date(null=True, default=None, index=True)
    department = Varchar(length=100, default="")
    facility = Varchar(length=64, default="")  # 所属标准装置 code (instruments only)
    for_types = JSON(default=[])  # instrument-type codes it serves
    calibration = JSON(
        default={}
    )  # its certificate as numbers: {"U", "k", "relative", "unit", "dof", "quantity"}
    notes = Text(default="")
    active = Boolean(default=True)
    updated_at = Timestamptz(default=TimestamptzNow())
