"""API tokens and the principals behind them.

``principal`` says who a request is; ``tokens`` makes, checks and revokes tokens (``TokenStore``);
``table`` is the contract of where tokens are kept (``TokenTable``), and ``sqlite_table`` keeps them in
the main SQLite database; ``last_used`` records when each stored token was last used.
"""

from inferhouse.auth.last_used import UseRecorder
from inferhouse.auth.principal import ANONYMOUS, ENV_ADMIN, OPERATOR, Principal
from inferhouse.auth.sqlite_table import SqliteTokenTable
from inferhouse.auth.table import StoredToken, TokenTable
from inferhouse.auth.tokens import (
    ADMIN_TOKEN_FILE,
    TOKEN_PREFIX,
    FirstStart,
    TokenStore,
    new_token,
    token_hash,
)

__all__ = [
    "ADMIN_TOKEN_FILE",
    "ANONYMOUS",
    "ENV_ADMIN",
    "OPERATOR",
    "TOKEN_PREFIX",
    "FirstStart",
    "Principal",
    "SqliteTokenTable",
    "StoredToken",
    "TokenStore",
    "TokenTable",
    "UseRecorder",
    "new_token",
    "token_hash",
]
