"""Keeping credentials out of logs, reprs and exception messages.

Three layers, because secrets reach the connection in three shapes:

1. by key: values under sensitive keys of a dict (``apiKey``, ``sign``, ``signature``,
   ``listenKey``, ``token``, ``passphrase`` ...), in JSON text (``"sign":"..."``) and in
   URL query strings (``?listenKey=...``);
2. by value: the exchange's own credentials and any listen key or token it keeps in
   ``options``, wherever they appear (a listen key in a URL path, an API key in a list of
   login ``args``);
3. by shape: a message that carries a credential by value is an authentication message,
   so every long token-like string in it (a signature computed from the secret, which no
   key name gives away, e.g. BitMEX ``{"op": "authKeyExpires", "args": [key, expires, sig]}``)
   is hidden too.
"""
import re

MASK = '***'

# compared after lower-casing and removing '_' and '-'
_SENSITIVE_KEYS = frozenset((
    'apikey', 'accesskey', 'secret', 'secretkey', 'apisecret', 'password', 'passphrase',
    'sign', 'signature', 'sig', 'token', 'accesstoken', 'authtoken', 'authorization',
    'listenkey', 'privatekey', 'twofa', 'otp', 'jwt', 'bearer', 'auth', 'hmac', 'xapikey',
))

_SENSITIVE_OPTION_KEY = re.compile(r'listen_?key|token|secret|signature|passphrase|privatekey', re.I)

_KEY_ALTERNATIVES = (
    r'api[_-]?key|access[_-]?key|secret(?:[_-]?key)?|api[_-]?secret|password|passphrase|sign|signature|sig'
    r'|token|access[_-]?token|auth[_-]?token|authorization|listen[_-]?key|private[_-]?key|twofa|otp|jwt'
    r'|bearer|auth|hmac|x[_-]api[_-]key'
)
# "key": "value"  /  'key': 'value' (reprs of dicts)
_JSON_PAIR = re.compile(r'''(["'](?:%s)["']\s*:\s*)(["'])(?:\\.|(?!\2).)*\2''' % _KEY_ALTERNATIVES, re.I)
# ?key=value&  (URLs, form bodies)
_QUERY_PAIR = re.compile(r'([?&;](?:%s)=)[^&#\s"\']*' % _KEY_ALTERNATIVES, re.I)
# a signature / token shape: a quoted long run of base64 / hex / url-safe characters
# (quoted, so file paths and prose in the same text are left alone)
_TOKEN_LIKE = re.compile(r'''(["'])[A-Za-z0-9+/_=-]{24,}\1''')

_CREDENTIALS = ('apiKey', 'secret', 'password', 'uid', 'login', 'privateKey', 'token', 'twofa')
_MIN_SECRET_LENGTH = 6  # shorter values (a uid like '1') would mask ordinary text


def _normal(key):
    return key.replace('_', '').replace('-', '').lower()


def is_sensitive_key(key):
    return isinstance(key, str) and _normal(key) in _SENSITIVE_KEYS


def redact_structure(value):
    """A copy of dicts/lists/tuples with the values under sensitive keys masked."""
    if isinstance(value, dict):
        return {k: (MASK if is_sensitive_key(k) and v not in (None, '') else redact_structure(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_structure(v) for v in value]
    return value


def redact_text(text, secrets=()):
    """Mask key/value pairs in JSON text and query strings, then every known secret."""
    text = _JSON_PAIR.sub(lambda m: m.group(1) + m.group(2) + MASK + m.group(2), text)
    text = _QUERY_PAIR.sub(lambda m: m.group(1) + MASK, text)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _option_secrets(options, found, depth=0):
    if depth > 3 or not isinstance(options, dict):
        return
    for key, value in options.items():
        if isinstance(value, dict):
            _option_secrets(value, found, depth + 1)
        elif isinstance(value, str) and isinstance(key, str) and _SENSITIVE_OPTION_KEY.search(key):
            if len(value) >= _MIN_SECRET_LENGTH:
                found.add(value)


class Redactor:
    """Redacts with the credentials of one exchange instance, read at each call because
    credentials and listen keys change during a session (and redaction is only on
    logging/error paths, never per message)."""

    __slots__ = ('exchange', 'extra')

    def __init__(self, exchange=None):
        self.exchange = exchange
        self.extra = set()  # secrets learnt from elsewhere (e.g. a token from a REST call)

    def secrets(self):
        found = set(self.extra)
        exchange = self.exchange
        if exchange is not None:
            for name in _CREDENTIALS:
                value = getattr(exchange, name, None)
                if isinstance(value, str) and len(value) >= _MIN_SECRET_LENGTH:
                    found.add(value)
            _option_secrets(getattr(exchange, 'options', None), found)
        # longest first, so a secret that contains another is masked whole
        return sorted(found, key=len, reverse=True)

    def __call__(self, value):
        """A string safe to log for any value: a message, a URL, an exception."""
        secrets = self.secrets()
        if isinstance(value, (dict, list, tuple)):
            text = repr(redact_structure(value))
        elif isinstance(value, (bytes, bytearray, memoryview)):
            text = bytes(value).decode('utf-8', 'replace')
        elif isinstance(value, BaseException):
            text = type(value).__name__ + ': ' + str(value)
        else:
            text = str(value)
        carries_secret = any(secret in text for secret in secrets)
        text = redact_text(text, secrets)
        if carries_secret:
            text = _TOKEN_LIKE.sub(lambda m: m.group(1) + MASK + m.group(1), text)
        return text

    def carries_credentials(self, value):
        """True when a message or URL authenticates: a sensitive key, or a credential
        by value. Such traffic is never replayed on a new connection (signatures and
        timestamps go stale); it is made afresh by the next watch_* call, as in ccxt.pro."""
        if value is None:
            return False
        if isinstance(value, (dict, list, tuple)):
            if _has_sensitive_key(value):
                return True
            text = repr(value)
        else:
            text = value if isinstance(value, str) else str(value)
            if _JSON_PAIR.search(text) or _QUERY_PAIR.search(text):
                return True
        return any(secret in text for secret in self.secrets())


def _has_sensitive_key(value, depth=0):
    if depth > 6:
        return False
    if isinstance(value, dict):
        for k, v in value.items():
            if is_sensitive_key(k) and v not in (None, ''):
                return True
            if _has_sensitive_key(v, depth + 1):
                return True
    elif isinstance(value, (list, tuple)):
        return any(_has_sensitive_key(v, depth + 1) for v in value)
    return False
