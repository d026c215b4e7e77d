"""Tables of the accounts feature."""

from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Department(Table, tablename="department"):
    """专业科室 or office (业务室)."""

    name = Varchar(length=100, unique=True)
    code = Varchar(length=50, unique=True)
    description = Text(default="")


class Role(Table, tablename="role"):
    """A role and the permission codes it grants (data, editable by the administrator)."""

    key = Varchar(length=50, unique=True)
    name_zh = Varchar(length=100)
    name_en = Varchar(length=100)
    permissions = JSON(default=[])


class User(Table, tablename="app_user"):
    username = Varchar(length=150, unique=True)
    full_name = Varchar(length=150)
    password_hash = Varchar(length=255)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.set_null)
    phone = Varchar(length=50, default="")
    email = Varchar(length=150, default="")
    language = Varchar(length=8, default="zh")
    is_active = Boolean(default=True)
    # The signature image (PNG) in the content-addressed file store.
    signature_sha256 = Varchar(length=64, default="")
    last_login = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class UserRole(Table, tablename="user_role"):
    user = ForeignKey(User, on_delete=OnDelete.cascade)
    role = ForeignKey(Role, on_delete=OnDelete.cascade)


class Qualification(Table, tablename="qualification"):
    """检定员证: which instrument types the holder may verify, and until when."""

    user = ForeignKey(User, on_delete=OnDelete.cascade)
    certificate_no = Varchar(length=100)
    instrument_types = JSON(default=[])  # instrument type codes
    valid_from = Date(null=True, default=None)
    valid_until = Date()


class LoginThrottle(Table, tablename="login_throttle"):
    """Failed sign-ins per user name (existing or not, so a lockout reveals nothing) and per address."""

    key = Varchar(length=200, unique=True)
    failures = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())


class LoginSession(Table, tablename="login_session"):
    """A browser session; only the SHA-256 of the cookie value is stored."""

    token_sha256 = Varchar(length=64, unique=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    ip = Varchar(length=64, default="")
    # SHA-256 of the user's password hash when the session began: any change of the password,
    # by whatever path, ends the session (the one that changed it is stamped again).
    password_stamp = Varchar(length=64, default="")


class ApiToken(Table, tablename="api_token"):
    """A bearer token for scripts; only its SHA-256 is stored, the token is shown once."""

    user = ForeignKey(User, on_delete=OnDelete.cascade)
    name = Varchar(length=100)
    token_sha256 = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)  # refreshed at most once a minute
    # None on tokens made before tokens expired: they expire token_days after created_at.
    expires_at = Timestamptz(null=True, default=None)
    revoked = Boolean(default=False)
    password_stamp = Varchar(length=64, default="")  # as LoginSession's: a new password ends it
