# cython: freethreading_compatible = False
"""The client's dispatch of one decoded message, and the exchange's bound-method cache.

Many ccxt.pro ``handle_message`` implementations build their routing table on every
message: ``{'depthUpdate': self.handle_order_book, 'trade': self.handle_trade, ...}``
(35 entries for Binance). Each ``self.handle_x`` there is an attribute load that is not
a call, so CPython makes a new bound-method object for it and frees it when the table
goes; the interpreter cannot specialise those loads either. ``MethodCache`` keeps one
bound method per such name in the instance's ``__dict__``: the load then finds it there
(an instance attribute shadows a class's function) and nothing is allocated.

What keeps the entries true to what ``self.handle_x`` would give:

* they are checked against the class once per dispatched message (and per ``watch*``):
  the type's version tag changes whenever the class or any base is modified (CPython
  sets it to 0 and gives a fresh one at the next lookup; 0 never matches, so a modified
  type is refreshed), and a changed tag rebinds every entry from the class as it is now;
* an entry the user replaced or deleted (``ex.handle_x = f``) is theirs from then on:
  the cache only ever rewrites an entry that still holds the very object it put there;
* only plain Python functions found in the class are cached; a name whose class
  attribute becomes anything else (a property, a staticmethod, a compiled function) or
  disappears loses its entry, and so does every name when the class customises
  attribute access (``__getattribute__``/``__getattr__``).

Also here, compiled because they run once per message: ``decode_text`` (a text
frame's bytes -> what ccxt hands to ``handle_message``) and ccxt's ``Client.resolve``.

The names come from ``names_of(type(exchange))`` (the exchange layer passes
``ccxtpro_fast.base.fastpaths.method_values``), asked whenever the class changed.

``RoutedMethod`` is what lets the interpreter specialise those loads: CPython (3.11 on)
gives up on ``self.handle_x`` when the class attribute is a function, even though the
instance's own entry is what the load returns, but specialises it into an indexed read of
the instance dict when the class attribute is a non-data descriptor of an immutable type.
A ``RoutedMethod`` in the exchange's class stands for the function its bases define and
binds it exactly as the function would when the instance has no entry."""
from cpython.object cimport PyObject, PyTypeObject

import types

import orjson
from ccxt.async_support.base.ws.client import Client as _CcxtClient

cdef extern from *:
    """
    static inline unsigned int ccxf_type_version(PyObject *type) {
        /* 0 when the type or a base was modified since its tag was given (CPython
           3.10-3.13 all reset it to 0 then) or when no tag could be given: the caller
           treats 0 as "unknown" */
        return ((PyTypeObject *)type)->tp_version_tag;
    }
    static inline PyObject *ccxf_type_lookup(PyObject *type, PyObject *name) {
        /* the attribute as instance lookup finds it on the type (MRO order, the method
           cache): borrowed, NULL when absent; giving the type a version tag if it has
           none is part of it */
        return _PyType_Lookup((PyTypeObject *)type, name);
    }
    static inline int ccxf_generic_getattr(PyObject *type) {
        return ((PyTypeObject *)type)->tp_getattro == PyObject_GenericGetAttr;
    }
    """
    unsigned int ccxf_type_version(object type)
    PyObject *ccxf_type_lookup(object type, object name)
    bint ccxf_generic_getattr(object type)
    object PyMethod_New(object func, object self)

cdef object _FUNCTION = types.FunctionType
cdef object _loads = orjson.loads
cdef object _ccxt_resolve = _CcxtClient.resolve


cdef object _ABSENT = object()


cdef class RoutedMethod:
    """``RoutedMethod(owner, name)``, a class attribute of ``owner``: ``owner``'s
    ``name`` as its bases define it, now (looked up at each use, so a base patched later
    is seen), bound as that definition binds itself."""
    cdef readonly object owner
    cdef readonly str name

    def __init__(self, owner, str name):
        self.owner = owner
        self.name = name

    cpdef object target(self, cls=None):
        """What ``cls.<name>`` (default: the owner's) resolves to with this stand-in
        skipped: the first definition after the class holding it in ``cls``'s MRO (the
        owner, or a class rebuilt from the owner's ``__dict__``) that is not a stand-in
        itself. AttributeError when there is none."""
        if cls is None:
            cls = self.owner
        name = self.name
        past_self = False
        for klass in cls.__mro__:
            value = klass.__dict__.get(name, _ABSENT)
            if not past_self:
                past_self = value is self
                continue
            if value is not _ABSENT and type(value) is not RoutedMethod:
                return value
        raise AttributeError(f"type object {cls.__name__!r} has no attribute {name!r}")

    def __call__(self, *args, **kwargs):
        # called from the class's __dict__ (mock's autospec does): the function it stands for
        return self.target()(*args, **kwargs)

    def __get__(self, instance, cls):
        if cls is None:
            cls = type(instance)
        value = self.target(cls)
        getter = getattr(type(value), '__get__', None)
        if getter is None:
            return value
        return getter(value, instance, cls)

    def __repr__(self):
        return f"<RoutedMethod {self.name!r} of {self.owner.__qualname__}>"


cdef class MethodCache:
    """``MethodCache(exchange, names_of)``: the bound methods of the names
    ``names_of(type(exchange))`` gives, kept in ``exchange.__dict__`` and rebound when the
    class changes (``check()``)."""
    cdef object owner
    cdef object names_of
    cdef object cls                  # the type the entries were bound from (None: not yet)
    cdef unsigned int version        # its version tag then (0: refresh at every check)
    cdef dict mine                   # name -> the bound method this cache put in the instance
    cdef set released                # names the instance's own assignments took over

    def __init__(self, owner, names_of):
        self.owner = owner
        self.names_of = names_of
        self.cls = None
        self.version = 0
        self.mine = {}
        self.released = set()

    cpdef check(self):
        """Rebind the entries if the class (or a base) changed since they were made."""
        cls = type(self.owner)
        if cls is self.cls and self.version != 0 and ccxf_type_version(cls) == self.version:
            return
        self.refresh()

    cpdef refresh(self):
        cdef PyObject *found
        owner = self.owner
        cls = type(owner)
        own = owner.__dict__
        mine = self.mine
        released = self.released
        names = self.names_of(cls)
        generic = ccxf_generic_getattr(cls)
        for name in list(mine):
            if own.get(name) is not mine[name]:
                # replaced or deleted by the user: no longer ours to touch
                del mine[name]
                released.add(name)
        for name in names:
            if name in released:
                continue
            held = mine.get(name)
            if held is None and name in own:
                released.add(name)    # an instance attribute of the user's own
                continue
            found = ccxf_type_lookup(cls, name) if generic else NULL
            func = None
            if found is not NULL:
                func = <object>found
                if type(func) is RoutedMethod:
                    try:
                        func = (<RoutedMethod>func).target(cls)
                    except AttributeError:
                        func = None
            if type(func) is _FUNCTION:
                if held is not None and (<object>held).__func__ is func:
                    continue
                bound = PyMethod_New(func, owner)
                own[name] = bound
                mine[name] = bound
            elif held is not None:
                del own[name]
                del mine[name]
        if len(mine) > len(names) or not generic:
            # names no longer wanted (the instance changed class)
            wanted = set(names) if generic else set()
            for name in [n for n in mine if n not in wanted]:
                del own[name]
                del mine[name]
        self.cls = cls
        # read after the lookups, which give a modified type its new tag
        self.version = ccxf_type_version(cls)

    def cached(self):
        """{name: bound method} currently kept in the instance (for tests and debugging)."""
        return dict(self.mine)


def dispatch(client, message):
    """``Client.dispatch``: hand one decoded message to the exchange; a handler exception
    is contained (``client.handler_failed``). First brings the exchange's cached bound
    methods up to date with its class (``MethodCache.check``)."""
    cache = client.method_cache
    try:
        if cache is not None:
            (<MethodCache?>cache).check()
        client.on_message_callback(client, message)
    except Exception as error:
        client.handler_failed(message, error)


def decode_text(data):
    """bytes of a text message -> what ccxt hands to handle_message: the JSON value when
    it looks like a JSON object/array (ccxt's is_json_encoded_object), else the str."""
    if type(data) is bytes:
        if len(<bytes>data) >= 2 and ((<bytes>data)[0] == 0x7B or (<bytes>data)[0] == 0x5B):
            return _loads(data)
        return (<bytes>data).decode('utf-8')
    if len(data) >= 2 and (data[0] == 0x7B or data[0] == 0x5B):
        return _loads(data)
    return bytes(data).decode('utf-8')


def resolve(client, result, message_hash):
    """ccxt's ``Client.resolve``, the same statements: settle the future waiting for
    ``message_hash``, if any (ccxt's verbose warning about a ``None`` hash is ccxt's)."""
    if client.verbose and message_hash is None:
        return _ccxt_resolve(client, result, message_hash)
    if message_hash in client.futures:
        future = client.futures[message_hash]
        future.resolve(result)
        del client.futures[message_hash]
    return result
