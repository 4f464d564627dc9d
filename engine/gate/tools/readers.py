"""Tools that only read and print: ``low`` when every option is understood and every path they
read is inside the workspace. Options that write (``sort -o``, ``tree -o``, ``less -o``), run
commands (``sort --compress-program``, ``rg --pre``) or operands that are output files (the
second operand of ``uniq`` and ``xxd``) are part of each grammar, so they are judged as what
they are.
"""

from __future__ import annotations

from engine.gate.analysis import Invocation
from engine.gate.base import BOTH, names
from engine.gate.tools.grammar import Grammar, Handler, Tool, grammar, table_tool
from engine.gate.walk import Walker

__all__ = ["PAGERS", "READERS"]


def _reader(g: Grammar, what: str = "reads files") -> Tool:
    return Tool("low", what, g)


_PRINT = _reader(grammar(any_short=True, any_long=True, operands="data*"), "prints text")
_ANY = grammar(any_short=True, any_long=True)  # every option only changes what is printed

READERS: dict[str, Tool] = {
    **dict.fromkeys(
        names(
            """echo true false : pwd yes printenv uname whoami id groups logname nproc arch tty
            users who w free uptime locale getconf basename dirname seq expr test [ tput clear
            sleep cal factor numfmt dircolors hostid lsb_release lscpu lsblk blkid lsmod lsusb
            lspci type which whereis"""
        ),
        _PRINT,
    ),
    "printf": _reader(grammar(values="v", operands="data*"), "prints text"),
    "cat": _reader(grammar(any_short=True, any_long=True)),
    "tac": _reader(grammar("br", "s", "--before --regex", "--separator")),
    "head": _reader(
        grammar(
            "qvz",
            "nc",
            "--quiet --silent --verbose --zero-terminated",
            "--lines --bytes",
            numbers=True,
        )
    ),
    "tail": _reader(
        grammar(
            "fFqvzr",
            "ncs",
            "--follow --retry --quiet --silent --verbose --zero-terminated",
            "--lines --bytes --pid --sleep-interval --max-unchanged-stats",
            numbers=True,
        )
    ),
    "wc": _reader(
        grammar(
            "clmwL",
            "",
            "--bytes --chars --lines --words --max-line-length --total",
            "--files0-from",
            means={"--files0-from": "read"},
        )
    ),
    "nl": _reader(grammar("p", "bdfhilnsvw", any_long=True)),
    "cut": _reader(
        grammar(
            "nsz",
            "bcdf",
            "--complement --only-delimited --zero-terminated",
            "--bytes --characters --delimiter --fields --output-delimiter",
        )
    ),
    "tr": _reader(
        grammar(
            "cCdst", "", "--complement --delete --squeeze-repeats --truncate-set1", operands="data*"
        )
    ),
    "paste": _reader(grammar("sz", "d", "--serial --zero-terminated", "--delimiters")),
    "join": _reader(
        grammar(
            "iz",
            "aejotv12",
            "--ignore-case --check-order --nocheck-order --header --zero-terminated",
        )
    ),
    "comm": _reader(
        grammar(
            "123z",
            "",
            "--check-order --nocheck-order --total --zero-terminated",
            "--output-delimiter",
        )
    ),
    "fold": _reader(grammar("bs", "w", "--bytes --spaces", "--width")),
    "fmt": _reader(grammar("cstu", "pgw", any_long=True)),
    "rev": _reader(grammar()),
    "expand": _reader(grammar("i", "t", "--initial", "--tabs")),
    "unexpand": _reader(grammar("a", "t", "--all --first-only", "--tabs")),
    "column": _reader(grammar("tnexJLR", "sciodNHWlrCE", any_long=True)),
    "sort": _reader(
        grammar(
            "bdfgiMhnRrVcCmsuz",
            "kostTS",
            "--ignore-leading-blanks --dictionary-order --ignore-case --general-numeric-sort "
            "--ignore-nonprinting --month-sort --human-numeric-sort --numeric-sort --random-sort "
            "--reverse --version-sort --check --merge --stable --unique --zero-terminated --debug",
            "--key --output --field-separator --temporary-directory --buffer-size --parallel "
            "--batch-size --compress-program --files0-from --random-source --sort",
            means={
                "-o": "write",
                "--output": "write",
                "-T": "write",
                "--temporary-directory": "write",
                "--compress-program": "run",
                "--files0-from": "read",
                "--random-source": "read",
            },
        )
    ),
    "uniq": _reader(
        grammar(
            "cdDiuz",
            "fsw",
            "--count --repeated --ignore-case --unique --zero-terminated",
            "--all-repeated --group --skip-fields --skip-chars --check-chars",
            operands="read? write?",
        )
    ),
    "xxd": _reader(
        grammar(
            "aeEiprubdCR",
            "cglosn",
            "-ps -postscript -plain -autoskip -bits -binary -capitalize -EBCDIC -include -revert "
            "-uppercase -version -help -little-endian",
            "-cols -groupsize -len -name -offset -seek",
            operands="read? write?",
        )
    ),
    "od": _reader(grammar("bcdfilosvx", "AjNStw", any_long=True)),
    "hexdump": _reader(grammar("bcCdovx", "ens", any_long=True, means={"-f": "read"})),
    "strings": _reader(grammar("afwdsU", "ntTe", any_long=True)),
    "diff": _reader(
        grammar(
            "iEZbwBIlNTtarpyqsu",
            "CUDFIxXWS",
            any_long=True,
            means={
                "-X": "read",
                "--exclude-from": "read",
                "--from-file": "read",
                "--to-file": "read",
            },
            bulk="-r --recursive",
        )
    ),
    "cmp": _reader(grammar("blsz", "in", any_long=True)),
    "grep": _reader(
        grammar(
            "EFGPiywxzsvVcLlmobHhnTZrRaIUqu",
            "efmABCdD",
            "--extended-regexp --fixed-strings --basic-regexp --perl-regexp --ignore-case "
            "--no-ignore-case --word-regexp --line-regexp --null-data --no-messages --invert-match "
            "--version --help --count --files-with-matches --files-without-match --only-matching "
            "--quiet --silent --byte-offset --with-filename --no-filename --line-number "
            "--initial-tab --null --recursive --dereference-recursive --text --line-buffered "
            "--color --colour",
            "--regexp --file --max-count --after-context --before-context --context --devices "
            "--directories --include --exclude --exclude-from --exclude-dir --label --binary-files",
            means={"-f": "read", "--file": "read", "--exclude-from": "read"},
            operands="data read*",
            bulk="-r -R --recursive --dereference-recursive",
        )
    ),
    "rg": _reader(
        grammar(
            "abcFhHiILlnNoOpqsSuUvwxz.0",
            "ABCefgjmMrtTEd",
            any_long=True,
            means={"--pre": "run", "-f": "read", "--file": "read", "--ignore-file": "read"},
            operands="data read*",
            bulk="*",
        )
    ),
    "ls": _reader(grammar(any_short=True, any_long=True, bulk="-R --recursive")),
    "tree": _reader(
        grammar(
            "adlfxRCnqNQpugshDFvtcUrJXiA",
            "LPIHTo",
            any_long=True,
            means={"-o": "write", "--fromfile": "read"},
            bulk="*",
        )
    ),
    "du": _reader(
        grammar(
            "0abcDhHklLmPSsx",
            "BdtX",
            any_long=True,
            means={"-X": "read", "--exclude-from": "read", "--files0-from": "read"},
            bulk="*",
        )
    ),
    "df": _reader(grammar("ahHiklPTv", "Btx", any_long=True)),
    "stat": _reader(grammar("fLt", "c", any_long=True)),
    "realpath": _reader(grammar("eLmPqsz", "", any_long=True)),
    "readlink": _reader(grammar("efmnqsvz", "", any_long=True)),
    "md5sum": _reader(_ANY),
    **{
        name: _reader(_ANY)
        for name in names("sha1sum sha224sum sha256sum sha384sum sha512sum b2sum cksum sum")
    },
    "base64": _reader(grammar("dinw", "", any_long=True, operands="read?")),
    "base32": _reader(grammar("dinw", "", any_long=True, operands="read?")),
    "file": _reader(
        grammar("bcdEhikLlNnprsSvz0", "eFfmP", any_long=True, means={"-f": "read", "-m": "read"})
    ),
    "jq": _reader(
        grammar(
            "nrjacCsSteh",
            "fL",
            any_long=True,
            means={"-f": "read", "--from-file": "read", "--slurpfile": "read", "--rawfile": "read"},
            operands="data read*",
        )
    ),
    "iconv": _reader(
        grammar("cls", "ft", any_long=True, means={"-o": "write", "--output": "write"})
    ),
    "shuf": _reader(
        grammar(
            "erz",
            "inoT",
            any_long=True,
            means={"-o": "write", "--output": "write", "--random-source": "read"},
        )
    ),
    "pr": _reader(grammar(any_short=True, any_long=True)),
    "look": _reader(grammar("bdf", "t", operands="data read?")),
    "bc": _reader(grammar("hilqsvw", "", any_long=True)),
    "ps": _reader(grammar(any_short=True, any_long=True, operands="data*")),
    "pgrep": _reader(grammar(any_short=True, any_long=True, operands="data*")),
    "lsof": _reader(grammar(any_short=True, any_long=True, operands="read*")),
    "pstree": _reader(grammar(any_short=True, any_long=True, operands="data*")),
    "getent": _reader(grammar("s", "", any_long=True, operands="data*")),
    "man": _reader(
        grammar(
            "acdDfhkKlwW",
            "CMPSLmHpEIRTr",
            any_long=True,
            means={"-P": "run", "--pager": "run", "-H": "run", "--html": "run"},
            operands="data*",
        )
    ),
    "help": _PRINT,
    "history": _reader(grammar(operands="data*"), "lists the shell's history"),
    "jobs": _PRINT,
    "wait": _PRINT,
    "times": _PRINT,
    "dirs": _PRINT,
    "caller": _PRINT,
    "shift": _PRINT,
    "return": _PRINT,
    "exit": _PRINT,
    "break": _PRINT,
    "continue": _PRINT,
    "umask": _PRINT,
    "ulimit": _PRINT,
    "getopts": _PRINT,
    "unalias": _PRINT,
    "sync": _PRINT,
}


PAGER_TOOLS: dict[str, Tool] = {
    "less": _reader(
        grammar(
            "aABcCdeEfFgGiIJKLmMnNqQrRsSuUVwWX~",
            "bhjkoOpPtTxyz",
            any_long=True,
            means={"-o": "write", "-O": "write", "-k": "read"},
        )
    ),
    "more": _reader(grammar("dlfpcsu", "n", any_long=True, numbers=True)),
}


def pager(a: Walker, inv: Invocation) -> None:
    """less and more: readers, but a ``+`` operand is a command they run first (``+!cmd``)."""
    commands = [w.text for w in inv.args if w.text.startswith("+") and not w.text[1:].isdigit()]
    for text in commands:
        a.add("high", f"{inv.name} {text}: runs a command of the pager's own", held_by=BOTH)
    rest = [w for w in inv.args if not w.text.startswith("+")]  # +N: start at line N
    table_tool(PAGER_TOOLS[inv.name])(a, inv.shifted([inv.argv[0], *rest]))


PAGERS: dict[str, Handler] = dict.fromkeys(PAGER_TOOLS, pager)
