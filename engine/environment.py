"""The environment of a step: an allow-list, never a deny-list.

A step gets the variables it needs to find its tools and behave like the user's shell (PATH, the
locale, the terminal, the user's identity, toolchain homes, certificate bundles, proxies) and
nothing else: a variable that is not on the list (a token, a password, anything new) never
reaches a step, whatever its name. A listed variable whose name or value still looks like a
credential (a proxy URL with ``user:password@``) is left out too. ``agent.envAllow`` (names or
``PREFIX_*`` patterns) adds to the list; it cannot add secret-looking names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from engine.secrets import is_secret_name

ALLOWED = frozenset(
    {
        # who and where
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "COLORTERM", "TZ", "LANG",
        "LANGUAGE", "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CI", "EDITOR", "PAGER",
        # certificates
        "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO", "PIP_CERT", "AWS_CA_BUNDLE",
        # proxies (left out when they carry a password)
        "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
        # toolchains
        "VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "PYENV_ROOT", "PYENV_VERSION",
        "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONIOENCODING",
        "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX",
        "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_DEFAULT_TIMEOUT", "PIP_CONSTRAINT",
        "UV_CACHE_DIR", "NVM_DIR", "NVM_BIN", "NODE_PATH", "NODE_ENV", "NODE_OPTIONS",
        "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "RUST_BACKTRACE", "RUSTFLAGS",
        "GOPATH", "GOROOT", "GOFLAGS", "GOPROXY", "GONOSUMDB", "GOPRIVATE", "GO111MODULE",
        "JAVA_HOME", "GRADLE_USER_HOME", "MAVEN_HOME", "DOTNET_ROOT",
        "CC", "CXX", "CFLAGS", "CXXFLAGS", "LDFLAGS", "PKG_CONFIG_PATH", "MAKEFLAGS",
        # git's identity (not its configuration: GIT_CONFIG_* can run code)
        "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
    }
)  # fmt: skip
_LOCALE = re.compile(r"^LC_[A-Z]+$")
_PASSWORD_IN_URL = re.compile(r"://[^\s/@:]+:[^\s/@]+@")
# Never passed, even if asked for: they make a shell or git run code the gate never saw.
NEVER = frozenset({"BASH_ENV", "ENV", "CDPATH", "PROMPT_COMMAND", "LD_PRELOAD", "LD_AUDIT"})


def step_environment(
    parent: Mapping[str, str],
    extra: Iterable[str] = (),
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables of ``parent`` a step may see (see the module docstring), plus ``overrides``
    (set by agentd itself: the run id, the sandbox's cache folders)."""
    patterns = [name for name in extra if name.endswith("*")]
    names = ALLOWED | {name for name in extra if not name.endswith("*")}
    env = {}
    for name, value in parent.items():
        allowed = (
            name in names or _LOCALE.match(name) or any(name.startswith(p[:-1]) for p in patterns)
        )
        if (
            allowed
            and name not in NEVER
            and not is_secret_name(name)
            and not _PASSWORD_IN_URL.search(value)
        ):
            env[name] = value
    env.update(overrides or {})
    return env
