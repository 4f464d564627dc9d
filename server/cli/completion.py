"""Shell completion scripts for bash, zsh and fish, written from the parser itself so they always
offer the commands and flags `agentd` has. Goal ids and run ids are asked for at completion time
(`agentd goals --ids`, `agentd runs --ids`: no server, a fraction of a second), for the workspace
the command line names with ``--workspace`` if it does.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from server.cli.parser import Parser

# What a command's positional argument completes to, besides its choices (shell commands).
_DYNAMIC = {
    "run": "agentd goals --ids",
    "trace": "agentd runs --ids --all",
    "revert": "agentd runs --ids --all",
}
_FIXED = {"trace": ["last"], "revert": ["last"]}


@dataclass(slots=True)
class Flag:
    names: list[str]
    help: str
    value: str | None  # None: a switch; "dir", "file" or "other" for what its value is


@dataclass(slots=True)
class CommandSpec:
    name: str
    summary: str
    flags: list[Flag] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # fixed values of its positional argument
    dynamic: str | None = None  # a command line that prints more of them, one a line


def specs(parser: Parser) -> list[CommandSpec]:
    """Every command with its flags and the values its positional argument takes."""
    found = []
    for name, sub in parser.commands.items():
        spec = CommandSpec(name, sub.summary, dynamic=_DYNAMIC.get(name))
        spec.words = list(_FIXED.get(name, []))
        for action in sub._actions:  # argparse keeps no public list of a parser's arguments
            if isinstance(action, argparse._HelpAction) or not action.option_strings:
                spec.words += [str(c) for c in action.choices or []]
                continue
            value = None
            if action.nargs != 0:
                metavar = str(action.metavar or "")
                value = "dir" if metavar == "DIR" else "file" if metavar == "FILE" else "other"
            short = (action.help or "").split(" (")[0]  # the gist; --help has the rest
            spec.flags.append(Flag(list(action.option_strings), short, value))
        spec.flags.append(Flag(["--help", "-h"], "show this help", None))
        found.append(spec)
    return found


def _flags_taking(command: CommandSpec, value: str) -> str:
    """A command's flags whose value is of this kind, as a case pattern (never matching if none:
    the same short flag may take a value in one command and not in another)."""
    return (
        "|".join(n for f in command.flags if f.value == value for n in f.names) or "--agentd-none"
    )


def script(shell: str, parser: Parser) -> str:
    commands = specs(parser)
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](commands)


def _bash(commands: list[CommandSpec]) -> str:
    cases = []
    for c in commands:
        flags = " ".join(n for f in c.flags for n in f.names)
        dynamic = f' $({c.dynamic} "${{_agentd_ws[@]}}" 2>/dev/null)' if c.dynamic else ""
        cases.append(
            f"""        {c.name})
            case "$prev" in
                {_flags_taking(c, "dir")}) COMPREPLY=($(compgen -d -- "$cur")); return;;
                {_flags_taking(c, "file")}) COMPREPLY=($(compgen -f -- "$cur")); return;;
                {_flags_taking(c, "other")}) return;;  # a command, a number: nothing to guess
            esac
            words="{flags}"
            [[ "$cur" != -* ]] && words+=" {" ".join(c.words)}{dynamic}";;"""
        )
    return _BASH.format(commands=" ".join(c.name for c in commands), cases="\n".join(cases))


_BASH = """\
# bash completion for agentd. Load it now:  source <(agentd completion bash)
# or for good:  agentd completion bash > ~/.local/share/bash-completion/completions/agentd
_agentd_workspace() {{  # the --workspace the line gives, for its goals and runs
    _agentd_ws=()
    local i
    for ((i = 1; i < COMP_CWORD - 1; i++)); do
        case "${{COMP_WORDS[i]}}" in
            -w|--workspace)
                local dir="${{COMP_WORDS[i+1]}}"
                [[ "$dir" == "=" ]] && dir="${{COMP_WORDS[i+2]}}"
                _agentd_ws=(--workspace "${{dir/#\\~/$HOME}}");;
        esac
    done
}}
_agentd() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}" cmd="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in -*) ;; *) cmd="${{COMP_WORDS[i]}}"; break;; esac
    done
    if [[ -z "$cmd" ]]; then
        COMPREPLY=($(compgen -W "{commands} --help --version" -- "$cur"))
        return
    fi
    _agentd_workspace
    local words=""
    case "$cmd" in
{cases}
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -F _agentd agentd
"""


def _zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _zsh_item(name: str, help: str) -> str:
    return _zsh_quote(f"{name}:{help.replace(':', chr(92) + ':')}")


def _zsh(commands: list[CommandSpec]) -> str:
    cases = []
    for c in commands:
        flags = " ".join(_zsh_item(n, f.help) for f in c.flags for n in f.names)
        words = " ".join(_zsh_quote(w) for w in c.words)
        dynamic = f' ${{(f)"$({c.dynamic} $ws 2>/dev/null)"}}' if c.dynamic else ""
        cases.append(
            f"""    ({c.name})
      case $words[CURRENT-1] in
        ({_flags_taking(c, "dir")}) _files -/; return;;
        ({_flags_taking(c, "file")}) _files; return;;
        ({_flags_taking(c, "other")}) return;;
      esac
      flags=({flags}); values=({words}{dynamic});;"""
        )
    commands_ = " ".join(_zsh_item(c.name, c.summary) for c in commands)
    return _ZSH.format(commands=commands_, cases="\n".join(cases))


_ZSH = """\
#compdef agentd
# zsh completion for agentd. Load it now (after compinit):  source <(agentd completion zsh)
# or for good:  agentd completion zsh > "${{fpath[1]}}/_agentd"
_agentd() {{
  local -a commands flags values ws
  local cmd i
  commands=({commands})
  for (( i = 2; i < CURRENT; i++ )); do
    if [[ $words[i] != -* ]]; then cmd=$words[i]; break; fi
  done
  for (( i = 2; i < CURRENT - 1; i++ )); do
    if [[ $words[i] == (-w|--workspace) ]]; then ws=(--workspace ${{~words[i+1]}}); fi
  done
  if [[ -z $cmd ]]; then
    _describe -t commands 'agentd command' commands
    return
  fi
  case $cmd in
{cases}
  esac
  if [[ $PREFIX == -* ]]; then
    _describe -t options 'option' flags
  else
    compadd -- $values
  fi
}}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _agentd "$@"
else
  compdef _agentd agentd
fi
"""


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish(commands: list[CommandSpec]) -> str:
    lines = [_FISH]
    for c in commands:
        lines.append(
            f"complete -c agentd -n __fish_use_subcommand -a {c.name} -d {_fish_quote(c.summary)}"
        )
    for c in commands:
        when = f"-n '__fish_seen_subcommand_from {c.name}'"
        for f in c.flags:
            names = " ".join(
                f"-l {n[2:]}" if n.startswith("--") else f"-s {n[1:]}" for n in f.names
            )
            value = {
                None: "",
                "dir": " -x -a '(__fish_complete_directories)'",
                "file": " -r -F",
                "other": " -x",
            }[f.value]
            lines.append(f"complete -c agentd {when} {names}{value} -d {_fish_quote(f.help)}")
        if c.words:
            lines.append(f"complete -c agentd {when} -a {_fish_quote(' '.join(c.words))}")
        if c.dynamic:
            lines.append(
                f"complete -c agentd {when} -a '({c.dynamic} (__agentd_workspace) 2>/dev/null)'"
            )
    return "\n".join(lines) + "\n"


_FISH = """\
# fish completion for agentd. Load it now:  agentd completion fish | source
# or for good:  agentd completion fish > ~/.config/fish/completions/agentd.fish
function __agentd_workspace --description 'the --workspace the command line gives'
    set -l tokens (commandline -opc)
    for i in (seq (count $tokens))
        if contains -- $tokens[$i] -w --workspace; and test $i -lt (count $tokens)
            echo --workspace
            echo $tokens[(math $i + 1)]
        end
    end
end
complete -c agentd -f
complete -c agentd -n __fish_use_subcommand -s h -l help -d 'show the help'
complete -c agentd -n __fish_use_subcommand -l version -d 'show the version'"""
