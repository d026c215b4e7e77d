"""Tables of the customers feature."""

from piccolo.columns import ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Customer(Table, tablename="customer"):
    """送检单位."""

    name = Varchar(length=200, unique=True)
    credit_code = Varchar(length=18, default="", index=True)  # 统一社会信用代码
    category = Varchar(length=50, default="", index=True)  # 煤矿 / 加油站 / …
    address = Varchar(length=300, default="")
    phone = Varchar(length=50, default="")
    remarks = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Contact(Table, tablename="customer_contact"):
    customer = ForeignKey(Customer, on_delete=OnDelete.cascade)
    name = Varchar(length=100)
    position = Varchar(length=100, default="")
    phone = Varchar(length=50, default="")
    email = Varchar(length=150, default="")
