"""Compiled stand-ins for ccxt's generic helpers, installed per exchange class.

ccxt.pro's exchange code spends much of a message in a few base-class helpers: the
``safe_*`` accessors (a dozen calls per message, most of them on a missing key, where
Python raises and catches a ``KeyError``) and, for order books, ``handle_deltas``, which
loops ``handle_delta`` -> ``safe_float`` x 2 -> ``bookside.store`` once per level. This
module replaces those helpers, never an exchange's own protocol code:

* ``safe_value``, ``safe_string``, ``safe_integer``, ``safe_float``, their ``_2`` forms,
  ``safe_string_lower``/``upper``, ``safe_integer_product``, ``safe_timestamp``,
  ``safe_dict``, ``safe_list``, ``safe_bool``: ``ccxtpro_fast._core.safe``, the same
  statements compiled (``tests/test_safe.py`` compares them with ccxt's);
* ``handle_deltas(bookside, deltas)``: one ``bookside.store_levels(deltas)``, only for a
  class whose ``handle_deltas`` and ``handle_delta`` are exactly ccxt's standard pair
  (compared instruction by instruction, below) and whose ``safe_float`` is ccxt's.

``install(cls)`` runs for every class made from ``ExchangeMixin`` (its
``__init_subclass__``): for each helper, the definition the class would have without us
(the first one in its MRO that is not ours) decides. If that is ccxt's own base-class
definition, and what the helper calls is too, the compiled one is put in the class's
``__dict__``; otherwise ccxt's/the exchange's definition is put back, so a class never
inherits a replacement its own overrides would make wrong. A name the class defines
itself is left alone.
"""
import dis
import inspect
import sys
import types
import weakref

from ccxt.base.exchange import BaseExchange

from ccxtpro_fast._core import safe as _safe
from ccxtpro_fast._core.dispatch import RoutedMethod

__all__ = ['install', 'installed', 'method_values', 'REPLACED']

_MISSING = object()

# ccxt's static methods, replaced when the class resolves them to ccxt's own
_STATIC = (
    'safe_value', 'safe_value_2', 'safe_string', 'safe_string_2', 'safe_string_lower',
    'safe_string_upper', 'safe_integer', 'safe_integer_2', 'safe_integer_product',
    'safe_timestamp', 'safe_float', 'safe_float_2',
)
# ccxt's instance methods that call self.safe_value / self.is_dictionary: replaced only
# where those are ccxt's too (the compiled versions inline them)
_METHODS = ('safe_dict', 'safe_list', 'safe_bool')

_REPLACEMENTS = {name: staticmethod(getattr(_safe, name)) for name in _STATIC}
_REPLACEMENTS.update({name: getattr(_safe, name) for name in _METHODS})


def _ccxt(name):
    return BaseExchange.__dict__[name]


# ------------------------------------------------------------------ handle_deltas

# The standard pair, as ccxt.pro's binance, bitvavo, bittrade, htx, okx (and myokx,
# okxus), whitebit and the binance family write it. A class qualifies when its own
# definitions compile to the same instructions as these (operations, constants, names,
# variables, argument shape): comments, annotations and docstrings aside, the same
# statements.

def _standard_handle_delta(self, bookside, delta):
    price = self.safe_float(delta, 0)
    amount = self.safe_float(delta, 1)
    bookside.store(price, amount)


def _standard_handle_deltas(self, bookside, deltas):
    for i in range(0, len(deltas)):
        self.handle_delta(bookside, deltas[i])


# the flags that change what a body does (not CO_NESTED, nor __future__ flags such as
# annotations, which only change how annotations are kept)
_CO_KIND = (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
            | inspect.CO_ITERABLE_COROUTINE | inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)


def _instructions(code):
    # constants and names resolved (a docstring shifts the constant indices), typed (so
    # 0, 0.0 and False differ), positions left out
    return [(i.opname, type(i.argval), i.argval) for i in dis.get_instructions(code)]


def _same_code(function, reference):
    if not isinstance(function, types.FunctionType):
        return False
    a, b = function.__code__, reference.__code__
    if function.__defaults__ or function.__kwdefaults__ or function.__closure__:
        return False
    return (_instructions(a) == _instructions(b) and a.co_varnames == b.co_varnames
            and a.co_argcount == b.co_argcount and a.co_posonlyargcount == b.co_posonlyargcount
            and a.co_kwonlyargcount == b.co_kwonlyargcount
            and a.co_flags & _CO_KIND == b.co_flags & _CO_KIND)


def _builtins_intact(function, names):
    # `range`/`len` in the loop are globals: the exchange's module must not rebind them
    module_globals = function.__globals__
    return not any(name in module_globals for name in names)


def is_standard_handle_delta(function):
    return _same_code(function, _standard_handle_delta)


def is_standard_handle_deltas(function):
    return _same_code(function, _standard_handle_deltas) and _builtins_intact(function, ('range', 'len'))


_FAST_HANDLE_DELTAS = _safe.handle_deltas
_REPLACEMENTS['handle_deltas'] = _FAST_HANDLE_DELTAS
REPLACED = tuple(_REPLACEMENTS)


# ------------------------------------------------------------------ method values

# ccxt's and our own base classes: their handle* functions are no exchange's message
# routing, so their bytecode is not read
_BASE_MODULES = ('ccxt.base.', 'ccxt.async_support.base.', 'ccxtpro_fast.base.')


_OP = dis.opmap
_LOAD_FAST = {_OP[n] for n in ('LOAD_FAST', 'LOAD_FAST_CHECK', 'LOAD_FAST_BORROW') if n in _OP}
_LOAD_FAST_PAIR = {_OP[n] for n in ('LOAD_FAST_LOAD_FAST', 'LOAD_FAST_BORROW_LOAD_FAST_BORROW') if n in _OP}
_LOAD_ATTR = _OP['LOAD_ATTR']
_EXTENDED_ARG = _OP['EXTENDED_ARG']
_LOAD_DEREF = _OP['LOAD_DEREF']
_DEREF_INDEXES_LOCALS = sys.version_info >= (3, 11)
# 3.12+: LOAD_ATTR's low bit marks a method load (the 3.10/3.11 LOAD_METHOD)
_ATTR_METHOD_BIT = sys.version_info >= (3, 12)


def _value_loads(code):
    """Names ``code`` loads as ``self.name`` without calling them. Reads the bytecode
    directly (``dis.get_instructions`` is ten times slower, and this runs over every
    handler of a class)."""
    if not code.co_argcount:
        return set()
    raw = code.co_code
    names = set()
    self_loaded = False
    extended = 0
    for i in range(0, len(raw), 2):
        op = raw[i]
        arg = raw[i + 1] | extended
        if op == _EXTENDED_ARG:
            extended = arg << 8
            continue
        extended = 0
        if op == _LOAD_ATTR and self_loaded:
            if _ATTR_METHOD_BIT:
                if not arg & 1:
                    names.add(code.co_names[arg >> 1])
            else:
                names.add(code.co_names[arg])
        if op in _LOAD_FAST:
            self_loaded = arg == 0           # local 0: the first argument, self
        elif op in _LOAD_FAST_PAIR:
            self_loaded = arg & 15 == 0      # the second of the two loads is pushed last
        elif op == _LOAD_DEREF:
            # self kept in a cell (a closure uses it): 3.11+ index the locals, 3.10 the cells
            self_loaded = (arg == 0 if _DEREF_INDEXES_LOCALS else
                           arg < len(code.co_cellvars) and code.co_cellvars[arg] == code.co_varnames[0])
        elif op != 0:
            # anything else ends the pattern (3.11+ inline CACHE entries, opcode 0,
            # follow their instruction and do not)
            self_loaded = False
    return names


def method_values(cls):
    """The names of ``cls``'s methods that its ``handle*`` functions load as values:
    ``self.handle_trade`` in a routing table built per message, a bound method made and
    freed each time. ``ccxtpro_fast._core.dispatch.MethodCache`` keeps those bound, and
    each one ``cls`` inherits as a plain function gets a ``RoutedMethod`` in ``cls`` so
    that the interpreter can specialise its loads. Computed once per class (about 2 ms
    of bytecode reading for Binance), when its first client is made."""
    names = _METHOD_VALUES.get(cls)
    if names is None:
        names = _METHOD_VALUES[cls] = _method_values(cls)
        _route(cls, names)
    return names


def _route(cls, names):
    # a name the class defines itself is its author's (a RoutedMethod only stands for
    # an inherited definition); ccxtpro_fast's own base classes are never modified; a
    # class with its own attribute access gets no MethodCache entries, and a stand-in
    # without an entry would only make each load slower
    if cls.__module__.startswith(_BASE_MODULES) or not _generic_getattr(cls):
        return
    for name in names:
        if name not in cls.__dict__ and isinstance(_first_definition(cls, name), types.FunctionType):
            setattr(cls, name, RoutedMethod(cls, name))


_METHOD_VALUES = weakref.WeakKeyDictionary()


def _method_values(cls):
    names = set()
    for klass in cls.__mro__:
        if klass is object or klass.__module__.startswith(_BASE_MODULES):
            continue
        for name, value in list(klass.__dict__.items()):
            if name.startswith('handle') and isinstance(value, types.FunctionType):
                names |= _value_loads(value.__code__)
    resolved = []
    for name in sorted(names):
        if isinstance(_first_definition(cls, name), types.FunctionType):
            resolved.append(name)
    return tuple(resolved)


def _generic_getattr(cls):
    return (cls.__getattribute__ is object.__getattribute__
            and not any('__getattr__' in klass.__dict__ for klass in cls.__mro__))


def _first_definition(cls, name):
    """What ``cls.name`` resolves to, a RoutedMethod read as what it stands for."""
    for klass in cls.__mro__:
        value = klass.__dict__.get(name, _MISSING)
        if value is _MISSING:
            continue
        if type(value) is RoutedMethod:
            try:
                return value.target(cls)
            except AttributeError:
                return _MISSING
        return value
    return _MISSING


# ------------------------------------------------------------------ installation


def _resolve_without_us(cls, name):
    """(owner, value) of the first definition of ``name`` in cls's MRO that install() did
    not put there (neither a replacement nor a definition put back)."""
    for klass in cls.__mro__:
        value = klass.__dict__.get(name, _MISSING)
        if value is _MISSING or name in klass.__dict__.get('_ccxf_installed', ()):
            continue
        return klass, value
    return None, _MISSING


def _effective_is_standard(cls, name):
    """After installation: does cls's ``name`` behave as ccxt's base definition?"""
    value = _MISSING
    for klass in cls.__mro__:
        value = klass.__dict__.get(name, _MISSING)
        if value is not _MISSING:
            break
    return value is _REPLACEMENTS.get(name) or value is BaseExchange.__dict__.get(name)


def _eligible(cls, name, original):
    if name in _STATIC:
        return original is _ccxt(name)
    if name in _METHODS:
        return (original is _ccxt(name) and _effective_is_standard(cls, 'safe_value')
                and _effective_is_standard(cls, 'is_dictionary'))
    if name == 'handle_deltas':
        _, handle_delta = _resolve_without_us(cls, 'handle_delta')
        return (is_standard_handle_deltas(original) and is_standard_handle_delta(handle_delta)
                and _effective_is_standard(cls, 'safe_float'))
    return False


def install(cls):
    """Put the compiled helpers in ``cls.__dict__`` where they stand for what ``cls``
    would run without them, and the definition it would run otherwise where they do not
    (so no subclass inherits a replacement that its overrides make wrong)."""
    done = {}
    mine = set()
    cls._ccxf_installed = mine
    # the static accessors first: the instance methods' eligibility reads them
    for name in _STATIC + _METHODS + ('handle_deltas',):
        if name in cls.__dict__:
            done[name] = False          # the class's own definition: not ours to touch
            continue
        owner, original = _resolve_without_us(cls, name)
        if original is _MISSING:
            continue
        if _eligible(cls, name, original):
            value = _REPLACEMENTS[name]
            done[name] = True
        else:
            value = original
            done[name] = False
        setattr(cls, name, value)
        mine.add(name)
        if done[name] and name == 'handle_deltas':
            # what the bulk path falls back to, and what it was checked against
            cls._ccxf_handle_deltas = (original, cls.handle_delta, cls.safe_float)
    return done


def installed(cls_or_instance):
    """{helper name: True if the compiled stand-in is in use} for a class or an instance."""
    cls = cls_or_instance if isinstance(cls_or_instance, type) else type(cls_or_instance)
    return {name: getattr(cls, name, None) is getattr(_REPLACEMENTS[name], '__func__', _REPLACEMENTS[name])
            for name in REPLACED}
