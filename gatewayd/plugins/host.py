"""Loading the plugins the config lists, and calling their hooks.

``[plugins.NAME]`` tables, in the config file's order: ``module = "pkg.mod"`` names a module
whose ``plugin`` attribute builds the plugin; without ``module``, the ``gatewayd.plugins``
entry point called NAME does (an installed plugin runs only when the config lists it).
``enabled = false`` keeps a table without loading it. Every other key is the plugin's own: its
factory parses them (:meth:`PluginContext.parse`) and raises :class:`ConfigError` with the
file and the key path ``plugins.NAME.key``.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import Any, TypeVar, cast

from twisted.internet.defer import Deferred, ensureDeferred, fail, gatherResults, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.python.failure import Failure

from gatewayd.config._schema import parse
from gatewayd.errors import ConfigError
from gatewayd.plugins.hooks import HOOKS, HookSpec, PluginFailed
from gatewayd.services import TypedService

log = Logger()
A = TypeVar("A")
R = TypeVar("R")
T = TypeVar("T")
GROUP = "gatewayd.plugins"
RESERVED = ("module", "enabled")
#: The built-in notifiers' names (gatewayd.plugins.notify): no config table may take them.
BUILTIN = ("smtp", "sms")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")

#: What builds a plugin: ``plugin(config, context)`` (a function or a class).
Factory = Callable[[Mapping[str, object], "PluginContext"], object]


@dataclass(frozen=True)
class PluginContext:
    """What a plugin gets besides its config. ``checking``: built by ``gatewayd check-config``
    (or a reload's check): parse and validate only; ``reactor`` is then a stopped Clock and
    ``services`` is None. ``services``: the running gateway (its db, submissions, plugins)."""

    name: str
    source: str
    reactor: Any
    checking: bool = False
    services: Any = None

    @property
    def key(self) -> str:
        return f"plugins.{self.name}"

    def parse(self, cls: type[T], config: Mapping[str, object]) -> T:
        """``config`` as the frozen dataclass ``cls``, with gatewayd's own strict checks."""
        return parse(cls, config, self.source, self.key)

    def error(self, key: str, reason: str) -> ConfigError:
        """A config error at ``plugins.NAME.key`` (``key`` "" for the whole table)."""
        return ConfigError(self.source, f"{self.key}.{key}" if key else self.key, reason)


@dataclass(frozen=True)
class Plugin:
    name: str
    instance: object
    origin: str  # the module or entry point it came from


def plugin_tables(
    plugins: Mapping[str, Mapping[str, Any]], source: str
) -> Iterator[tuple[str, str | None, Mapping[str, object]]]:
    """The enabled tables, in order: name, module (None: the entry point), own options."""
    for name, table in plugins.items():
        key = f"plugins.{name}"
        if not _NAME.match(name):
            raise ConfigError(source, key, "a plugin name is 1 to 40 of a-z, 0-9, _ and -")
        if name in BUILTIN:
            raise ConfigError(source, key, f"{name!r} is the name of a built-in notifier")
        if not isinstance(table, Mapping):
            raise ConfigError(source, key, "expected a table")
        enabled = table.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(source, f"{key}.enabled", "expected true or false")
        module = table.get("module")
        if module is not None and (not isinstance(module, str) or not module):
            raise ConfigError(source, f"{key}.module", "expected a module name (pkg.mod)")
        if enabled:
            yield (
                name,
                module,
                MappingProxyType({k: v for k, v in table.items() if k not in RESERVED}),
            )


def _factory(name: str, module: str | None, source: str) -> tuple[Factory, str]:
    key = f"plugins.{name}.module"
    if module is None:
        found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
        if not found:
            raise ConfigError(
                source, key, f"no module given and no installed {GROUP} entry point {name!r}"
            )
        try:
            return cast(Factory, found[0].load()), f"entry point {found[0].value}"
        except Exception as error:
            raise ConfigError(source, key, f"cannot load {found[0].value}: {error}") from None
    try:
        loaded = importlib.import_module(module)
    except Exception as error:
        raise ConfigError(source, key, f"cannot import {module}: {error}") from None
    factory = getattr(loaded, "plugin", None)
    if not callable(factory):
        raise ConfigError(source, key, f"{module} has no plugin(config, context) to build it")
    return cast(Factory, factory), module


def load_plugins(
    plugins: Mapping[str, Mapping[str, Any]],
    source: str,
    reactor: Any,
    services: Any = None,
    checking: bool = False,
) -> list[Plugin]:
    """Build the plugins the config lists, in order; raises ConfigError."""
    loaded = []
    for name, module, options in plugin_tables(plugins, source):
        factory, origin = _factory(name, module, source)
        context = PluginContext(name, source, reactor, checking, services)
        try:
            instance = factory(options, context)
        except ConfigError:
            raise
        except Exception as error:  # the plugin's own checks, not in gatewayd's form
            raise context.error("", f"{type(error).__name__}: {error}") from None
        if not any(callable(getattr(instance, hook, None)) for hook in HOOKS):
            known = ", ".join(HOOKS)
            raise context.error("", f"{origin} implements no hook (hooks: {known})")
        loaded.append(Plugin(name, instance, origin))
    return loaded


def check_plugins(plugins: Mapping[str, Mapping[str, Any]], source: str) -> None:
    """Import and build every listed plugin with a checking context (check-config)."""
    load_plugins(plugins, source, Clock(), checking=True)


class PluginHost(TypedService):
    """Calls the plugins' hooks. Plugins with ``start()``/``stop()`` are started and stopped
    with the gateway (a failure there is logged, and counted under "start"). ``failures``: per
    (plugin, hook), how many calls failed or timed out."""

    name = "plugins"

    def __init__(self, plugins: Sequence[Plugin], clock: IReactorTime) -> None:
        self.plugins = tuple(plugins)
        self._clock = clock
        self._failures: dict[tuple[str, str], int] = {}
        self.failures: Mapping[tuple[str, str], int] = MappingProxyType(self._failures)
        self._methods: dict[str, list[tuple[str, Callable[[Any], Any]]]] = {}

    def implementations(self, spec: HookSpec[A, R]) -> list[tuple[str, Callable[[A], Any]]]:
        """The plugins that implement ``spec``, in order (looked up once per hook)."""
        found = self._methods.get(spec.name)
        if found is None:
            found = self._methods[spec.name] = [
                (plugin.name, method)
                for plugin in self.plugins
                if callable(method := getattr(plugin.instance, spec.name, None))
            ]
        return found

    def has(self, spec: HookSpec[A, R]) -> bool:
        return bool(self.implementations(spec))

    # -- calling ----------------------------------------------------------------------------
    def first(self, spec: HookSpec[A, R], argument: A) -> Deferred[R | None]:
        """The first answer that is not None, asking the plugins in order."""
        answer: Deferred[object] = ensureDeferred(self._first(spec, argument))
        return cast("Deferred[R | None]", answer)

    async def _first(self, spec: HookSpec[A, R], argument: A) -> object:
        for name, method in self.implementations(spec):
            try:
                answer = await self._call(spec, name, method, argument)
            except Exception as error:
                self._failed(spec, name, error)
                continue
            if answer is not None:
                return answer
        return None

    def all(self, spec: HookSpec[A, R], argument: A) -> Deferred[list[R]]:
        """Every plugin at once; their answers that are not None, in plugin order."""
        calls = [
            self._guarded(spec, name, method, argument)
            for name, method in self.implementations(spec)
        ]
        d: Deferred[list[object]] = gatherResults(calls, consumeErrors=True)
        d.addErrback(_first_error)
        return d.addCallback(lambda answers: [cast(R, a) for a in answers if a is not None])

    def observe(self, spec: HookSpec[A, None], argument: A) -> None:
        """An "all" hook whose answers nobody waits for: the pipeline goes on at once."""
        for name, method in self.implementations(spec):
            self._guarded(spec, name, method, argument)  # counts and logs its failure

    def _guarded(
        self, spec: HookSpec[A, R], name: str, method: Callable[[A], Any], argument: A
    ) -> Deferred[object]:
        d = self._call(spec, name, method, argument)

        def failed(failure: Failure) -> object:
            self._failed(spec, name, cast(BaseException, failure.value))
            return None

        return d.addErrback(failed)

    def _call(
        self, spec: HookSpec[A, R], name: str, method: Callable[[A], Any], argument: A
    ) -> Deferred[object]:
        try:
            answer = method(argument)
        except Exception:
            return fail()
        if inspect.iscoroutine(answer):
            answer = ensureDeferred(answer)
        if isinstance(answer, Deferred):
            answer.addTimeout(spec.timeout, self._clock)
            return answer.addCallback(_checked, spec, name)
        try:
            return succeed(_checked(answer, spec, name))
        except Exception:
            return fail()

    def _count(self, name: str, hook: str) -> None:
        self._failures[(name, hook)] = self._failures.get((name, hook), 0) + 1

    def _failed(self, spec: HookSpec[A, R], name: str, error: BaseException) -> None:
        self._count(name, spec.name)
        log.error(
            "plugin {plugin} failed in {hook}: {error}",
            plugin=name,
            hook=spec.name,
            error=_describe(error),
        )
        if spec.failure == "closed":
            raise PluginFailed(f"plugin {name} failed in {spec.name}: the operation is refused")

    # -- lifecycle --------------------------------------------------------------------------
    def startService(self) -> None:
        super().startService()
        for plugin in self.plugins:
            start = getattr(plugin.instance, "start", None)
            if callable(start):
                try:
                    start()
                except Exception as error:  # the daemon starts; the plugin's hooks still run
                    self._count(plugin.name, "start")
                    log.error(
                        "plugin {plugin} failed to start: {error}",
                        plugin=plugin.name,
                        error=_describe(error),
                    )

    def stopService(self) -> Deferred[Any]:
        super().stopService()
        stops = []
        for plugin in reversed(self.plugins):
            stop = getattr(plugin.instance, "stop", None)
            if callable(stop):
                try:
                    result = stop()
                except Exception:
                    log.failure("plugin {plugin} failed to stop", plugin=plugin.name)
                    continue
                if isinstance(result, Deferred):
                    stops.append(result.addErrback(_stop_failed, plugin.name))
        d: Deferred[Any] = gatherResults(stops)
        return d


def _stop_failed(failure: Failure, name: str) -> None:
    log.failure("plugin {plugin} failed to stop", failure, plugin=name)


def _first_error(failure: Failure) -> Failure:
    """gatherResults wraps the first failure (a fail-closed hook's PluginFailed): unwrap it."""
    sub = getattr(failure.value, "subFailure", None)
    return sub if isinstance(sub, Failure) else failure


class WrongAnswer(TypeError):
    """A plugin answered with a value its hook does not allow."""


def _checked(answer: object, spec: HookSpec[A, R], name: str) -> object:
    if answer is None or isinstance(answer, spec.results):
        return answer
    allowed = ", ".join(t.__name__ for t in spec.results) or "nothing"
    raise WrongAnswer(f"{spec.name} answered a {type(answer).__name__} (allowed: {allowed}, None)")


def _describe(error: BaseException) -> str:
    """The error's kind and first line, shortened: never the hook's data."""
    from twisted.internet.defer import TimeoutError as DeferredTimeout

    if isinstance(error, DeferredTimeout):
        return "timed out"
    text = str(error).splitlines()[0][:200] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


__all__ = [
    "GROUP",
    "Plugin",
    "PluginContext",
    "PluginHost",
    "check_plugins",
    "load_plugins",
    "plugin_tables",
]
