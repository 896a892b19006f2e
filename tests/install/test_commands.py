"""Every external command the project's scripts and tests call is named in
scripts/packages/commands.txt with where it comes from, and every Debian
package named there is one scripts/bootstrap installs (scripts/packages/
build.txt, test.txt) or one every Debian 12 has (Essential: yes or Priority:
required, what debootstrap's minbase holds).  A new `foo` in a script, or a
new subprocess.run(["foo", ...]) in a test, then fails here with its file and
line instead of on the next fresh machine.

The commands are found by parsing, not grepping: shell scripts through
shfmt's syntax tree (shfmt --to-json), Python through the ast module,
meson.build files by find_program().  A command the parse cannot see as a
literal ("$engine" build, an argv built in another module) is not checked;
the self-tests at the end keep the parse honest about what it does see.

Scanned: scripts/*, .ci/run, deploy/build-images and deploy/instance (the
deploy tests run both on the host), every shell script and Python file under
tests/ (without what the test run fetches or builds there), every
meson.build.  Not scanned: deploy/*-entrypoint (they run inside the images,
whose Containerfiles install their commands) and bench/ (never part of the
test run; bench/run installs its tools from scripts/packages/bench.txt)."""

import ast
import json
import os
import re
import shutil
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PACKAGES = os.path.join(REPO, "scripts", "packages")
COMMANDS_TXT = os.path.join(PACKAGES, "commands.txt")
LISTS = [os.path.join(PACKAGES, "build.txt"), os.path.join(PACKAGES, "test.txt")]

# Directories that hold what the test run installs, fetches or builds (all
# git-ignored): other projects' scripts, not ours.  Hidden directories
# (.git, .venv, .kavka-data) and the top-level build*/ are skipped too.
PRUNE_NAMES = {"node_modules", "out", "target", "__pycache__"}
PRUNE_PATHS = {"tests/clients/go",                          # the Go toolchain
               "tests/conformance/librdkafka-suite/src"}    # librdkafka's source
# Host scripts outside scripts/ and tests/ that the test run calls.
EXTRA_SHELL = [".ci/run", "deploy/build-images", "deploy/instance"]

# bash and dash builtins: never a program on PATH when a script says them.
# (declare/local/export/let/[[ are not CallExprs in shfmt's tree.)
BUILTINS = set("""
    . : [ alias bg bind break builtin caller cd command compgen complete compopt
    continue dirs disown echo enable eval exec exit false fc fg getopts hash help
    history jobs kill logout mapfile popd printf pushd pwd read readarray return
    set shift shopt source suspend test times trap true type ulimit umask unalias
    unset wait
""".split())

# Where Debian packages put commands.
DEBIAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

# Variables that scripts/lib.sh sets to "sudo" or nothing: `$as_root apt-get`
# runs apt-get.  Any other leading expansion ("$engine" build) is unknown.
ROOT_PREFIXES = {"as_root", "sudo"}


# ------------------------------------------------------------ shell scripts

def _nodes(tree):
    """Every dict in a shfmt JSON tree."""
    stack = [tree]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            yield n
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)


def _literal(word):
    """The word's text when it has no expansion in it (foo, 'foo', "foo"), else None."""
    out = []
    for part in word.get("Parts") or []:
        kind = part.get("Type")
        if kind in ("Lit", "SglQuoted"):
            out.append(part["Value"])
        elif kind == "DblQuoted":
            inner = _literal(part)
            if inner is None:
                return None
            out.append(inner)
        else:
            return None
    return "".join(out)


def _param(word):
    """NAME when the word is just $NAME or "$NAME", else None."""
    parts = word.get("Parts") or []
    if len(parts) == 1 and parts[0].get("Type") == "DblQuoted":
        parts = parts[0].get("Parts") or []
    if len(parts) == 1 and parts[0].get("Type") == "ParamExp":
        p = parts[0]
        if not any(p.get(k) for k in ("Exp", "Repl", "Slice", "Index", "Length", "Excl", "Names")):
            return p["Param"]["Value"]
    return None


def _line(word):
    return word["Pos"]["Line"]


def _parse_shell(text, where):
    if not shutil.which("shfmt"):
        pytest.fail("shfmt is needed (scripts/packages/test.txt; scripts/bootstrap installs it)")
    r = subprocess.run(["shfmt", "--to-json", "-ln", "bash"], input=text.encode(),
                       capture_output=True)
    if r.returncode != 0:
        raise AssertionError("shfmt cannot parse %s: %s" % (where, r.stderr.decode().strip()))
    return json.loads(r.stdout)


def _functions(tree):
    return {n["Name"]["Value"] for n in _nodes(tree) if n.get("Type") == "FuncDecl"}


def _skip_options(words, i, with_arg=()):
    """Index of the first word at or after i that is not an option (-x, --x=y);
    options in with_arg take the next word as their value."""
    while i < len(words):
        w = _literal(words[i])
        if w is None or not w.startswith("-") or w == "-":
            break
        i += 1
        if w == "--":
            break
        if w in with_arg:
            i += 1
    return i


def _is_assignment(word):
    parts = word.get("Parts") or []
    return bool(parts) and parts[0].get("Type") == "Lit" and re.match(r"[A-Za-z_]\w*=", parts[0]["Value"])


def _unwrap(words):
    """The commands one CallExpr runs: [(name, word)], wrappers included.
    Wrappers run the command after their own options (env VAR=x cmd, sudo cmd,
    timeout 5 cmd, xargs -I{} cmd, quietly "what" cmd...); the wrapper is a
    command of its own too unless it is a builtin (exec, command) or the
    project's function (quietly).  `command -v X` probes X: X counts."""
    found = []
    i = 0
    while i < len(words):
        word = words[i]
        if _param(word) in ROOT_PREFIXES:
            i += 1
            continue
        name = _literal(word)
        if name is None:
            break
        found.append((name, word))
        i += 1
        if name == "env":
            while i < len(words):
                i = _skip_options(words, i, with_arg=("-u", "-C", "-S", "--unset", "--chdir"))
                if i < len(words) and _is_assignment(words[i]):
                    i += 1
                else:
                    break
        elif name == "sudo":
            i = _skip_options(words, i, with_arg=("-u", "-g", "-p", "-C", "-D", "-r", "-t", "-U", "-h"))
            while i < len(words) and _is_assignment(words[i]):
                i += 1
        elif name == "timeout":
            i = _skip_options(words, i, with_arg=("-s", "-k", "--signal", "--kill-after")) + 1
        elif name == "taskset":
            opts = {_literal(w) for w in words[i:_skip_options(words, i)]}
            if "-p" in opts or "--pid" in opts:
                break  # changes a running process's affinity: runs nothing
            i = _skip_options(words, i) + 1  # the mask, or the -c list
        elif name == "nice":
            i = _skip_options(words, i, with_arg=("-n", "--adjustment"))
        elif name == "nohup":
            pass
        elif name == "xargs":
            i = _skip_options(words, i, with_arg=("-I", "-P", "-n", "-L", "-d", "-E", "-s", "-a"))
        elif name == "exec":
            i = _skip_options(words, i, with_arg=("-a",))
        elif name == "command":
            opt = _literal(words[i]) if i < len(words) else None
            if opt in ("-v", "-V"):
                found += [(_literal(w), w) for w in words[i + 1:] if _literal(w) is not None]
                break
            i = _skip_options(words, i)
        elif name == "quietly":
            i += 1  # quietly WHAT CMD...: WHAT is the step's description
        else:
            break
    return found


def _embedded_script(name, args, assigns, src):
    """(text, line) of the shell code a call runs as a string: sh -c CODE,
    bash -c CODE, trap CODE SIG.  CODE may be a literal, "$var" of a literal
    assigned in the same file, or a double-quoted string (its source text)."""
    code = None
    if name in ("sh", "bash", "dash"):
        for k, w in enumerate(args[:-1]):
            opt = _literal(w)
            if opt is None or not opt.startswith("-") or opt.startswith("--"):
                break
            if "c" in opt:
                code = args[k + 1]
                break
    elif name == "trap" and args and _literal(args[0]) not in ("-", "-p", "-l"):
        code = args[0]
    if code is None:
        return None
    lit = _literal(code)
    if lit is not None:
        return lit, _line(code)
    var = _param(code)
    if var is not None:
        return assigns.get(var)
    parts = code.get("Parts") or []
    if len(parts) == 1 and parts[0].get("Type") == "DblQuoted":
        start, end = parts[0]["Pos"]["Offset"], parts[0]["End"]["Offset"]
        return src[start + 1:end - 1].decode(), _line(code)
    return None


def _shell_calls(text, where, functions, first_line=1):
    """[(command, line)] of the external commands a piece of shell calls."""
    tree = _parse_shell(text, where)
    src = text.encode()
    functions = set(functions) | _functions(tree)
    calls = [n for n in _nodes(tree) if n.get("Type") == "CallExpr"]
    # Variables assigned a literal, for sh -c "$var".
    assigns = {}
    for c in calls:
        for a in c.get("Assigns") or []:
            if a.get("Value") and _literal(a["Value"]) is not None:
                assigns[a["Name"]["Value"]] = (_literal(a["Value"]), _line(a["Value"]))
    # Functions of the project's scripts/*.sh that this code sources.
    for c in calls:
        args = c.get("Args") or []
        if len(args) >= 2 and _literal(args[0]) in (".", "source"):
            start, end = args[1]["Pos"]["Offset"], args[1]["End"]["Offset"]
            sourced = os.path.join(REPO, "scripts", os.path.basename(src[start:end].decode().strip("\"'")))
            if os.path.isfile(sourced):
                with open(sourced) as f:
                    functions |= _functions(_parse_shell(f.read(), sourced))
    found = []
    for c in calls:
        args = c.get("Args") or []
        for name, word in _unwrap(args):
            line = first_line + _line(word) - 1
            if name not in BUILTINS and name not in functions and "/" not in name \
                    and not name.startswith("$") and name:
                found.append((name, line))
            rest = args[args.index(word) + 1:]
            code = _embedded_script(name, rest, assigns, src)
            if code is not None:
                # sh -c runs a new shell (this file's functions are gone); trap
                # code runs in this one.
                inherit = functions if name == "trap" else ()
                found += _shell_calls(code[0], "%s:%d" % (where, line), inherit,
                                      first_line + code[1] - 1)
    return found


def _interpreter(text):
    """[(NAME, 1)] for a "#!/usr/bin/env NAME" first line: NAME runs the file."""
    m = re.match(r"#!\s*/usr/bin/env\s+(?:-\S+\s+)*([^\s/]+)", text)
    return [(m.group(1), 1)] if m else []


def shell_commands(path, text=None):
    """[(command, line)] of the external commands the shell script calls."""
    if text is None:
        with open(path) as f:
            text = f.read()
    return _interpreter(text) + _shell_calls(text, path, ())


# ------------------------------------------------------------ Python

# subprocess-style calls whose first argument is argv (a list) or a command
# line (a string).  Bare names too: the tests wrap subprocess.run in their own
# run()/_run() with the same argv.
_ARGV_CALLS = {"run", "_run", "Popen", "call", "check_call", "check_output",
               "getoutput", "getstatusoutput", "system", "popen", "create_subprocess_shell"}
# Calls whose first argument is the program itself.
_PROGRAM_CALLS = {"execv", "execve", "execvp", "execvpe", "execl", "execle", "execlp",
                  "execlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe", "spawnl",
                  "spawnle", "spawnlp", "spawnlpe", "posix_spawn", "posix_spawnp",
                  "create_subprocess_exec", "which"}
_MODULES = {"subprocess", "os", "shutil", "asyncio"}


def _argv0(node):
    """The program of an argv expression: "x" of ["x", ...] or ["x"] + rest."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _argv0(node.left)
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        node = node.elts[0]
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
    return None


def _callee(func):
    """(name, module) of a call's function: ("run", "subprocess"), ("_run", None)."""
    if isinstance(func, ast.Attribute):
        return func.attr, func.value.id if isinstance(func.value, ast.Name) else None
    if isinstance(func, ast.Name):
        return func.id, None
    return None, None


def python_commands(path, text=None):
    """[(command, line)] of the programs a Python file runs or looks up."""
    if text is None:
        with open(path) as f:
            text = f.read()
    tree = ast.parse(text, filename=path)
    found = _interpreter(text)
    # argv is often built first and passed on: cmd = ["kcat", ...]; _run(cmd),
    # or Popen(self.command()) with command() returning ["java", ...].  Both
    # are followed within the file (by name, not by scope: an over-match only
    # names a real argv).
    assigned, returned = {}, {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _argv0(node.value):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    assigned.setdefault(t.id, []).append((_argv0(node.value), node.lineno))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for r in ast.walk(node):
                if isinstance(r, ast.Return) and r.value is not None and _argv0(r.value):
                    returned.setdefault(node.name, []).append((_argv0(r.value), r.lineno))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name, module = _callee(node.func)
        first = node.args[0]
        is_str = isinstance(first, ast.Constant) and isinstance(first.value, str)
        progs = []
        if name in _ARGV_CALLS:
            if _argv0(first):
                progs = [(_argv0(first), node.lineno)]
            elif isinstance(first, ast.Name):
                progs = assigned.get(first.id, [])
            elif isinstance(first, ast.Call):
                progs = returned.get(_callee(first.func)[0], [])
            # A bare string is a command line only for the real module's call,
            # not for any run("...") that happens to exist.
            elif is_str and module in _MODULES and first.value.split():
                progs = [(first.value.split()[0], node.lineno)]
        elif name in _PROGRAM_CALLS and is_str and (module in _MODULES or name.startswith(("exec", "spawn"))):
            progs = [(first.value, node.lineno)]
        found += [(p, line) for p, line in progs if "/" not in p and not p.startswith("$")]
    return found


# ------------------------------------------------------------ meson

def meson_commands(path):
    with open(path) as f:
        text = f.read()
    return [(m.group(1), text.count("\n", 0, m.start()) + 1)
            for m in re.finditer(r"find_program\(\s*['\"]([^'\"]+)['\"]", text)]


# ------------------------------------------------------------ the tree

def _walk(top):
    for dirpath, dirnames, filenames in os.walk(top):
        rel = os.path.relpath(dirpath, REPO)
        dirnames[:] = sorted(d for d in dirnames
                             if d not in PRUNE_NAMES and not d.startswith((".", "jars"))
                             and os.path.normpath(os.path.join(rel, d)) not in PRUNE_PATHS
                             and not (rel == "." and d.startswith("build")))
        for f in sorted(filenames):
            yield os.path.join(dirpath, f)


def _shebang(path):
    try:
        with open(path, "rb") as f:
            return f.readline().decode(errors="replace")
    except OSError:
        return ""


def _is_shell(path):
    return path.endswith(".sh") or re.match(r"#!\s*\S*/(env\s+)?(ba|da)?sh\b", _shebang(path))


def _is_python(path):
    return path.endswith(".py") or re.match(r"#!.*\bpython", _shebang(path))


def project_files():
    """{"shell": [...], "python": [...], "meson": [...]} paths the check scans."""
    shell = [p for p in _walk(os.path.join(REPO, "scripts")) if _is_shell(p)]
    shell += [os.path.join(REPO, p) for p in EXTRA_SHELL if os.path.isfile(os.path.join(REPO, p))]
    tests = list(_walk(os.path.join(REPO, "tests")))
    shell += [p for p in tests if _is_shell(p)]
    python = [p for p in tests if _is_python(p) and not _is_shell(p)]
    meson = [p for p in _walk(REPO) if os.path.basename(p) == "meson.build"]
    return {"shell": shell, "python": python, "meson": meson}


def project_commands():
    """{command: ["file:line", ...]} for everything the scripts and tests call."""
    found = {}
    files = project_files()
    for kind, extract in (("shell", shell_commands), ("python", python_commands),
                          ("meson", meson_commands)):
        for path in files[kind]:
            for cmd, line in sorted(set(extract(path)), key=lambda c: c[1]):
                found.setdefault(cmd, []).append("%s:%d" % (os.path.relpath(path, REPO), line))
    return found


# ------------------------------------------------------------ the lists

def package_list(*paths):
    """Packages named in scripts/packages/*.txt, parsed as scripts/lib.sh's package_list."""
    out = []
    for path in paths:
        with open(path) as f:
            for line in f:
                out += line.split("#", 1)[0].split()
    return out


PROVIDER = re.compile(r"(deb:[a-z0-9][a-z0-9.+-]+|deb-if-missing:(nodejs|npm)|go-proxy|venv|repo"
                      r"|fallback:\S+|if-not-root)$")


def read_commands():
    """{command: provider} from commands.txt; a malformed line fails."""
    out = {}
    with open(COMMANDS_TXT) as f:
        for n, line in enumerate(f, 1):
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            assert len(fields) == 2 and PROVIDER.match(fields[1]), \
                "commands.txt:%d: want 'COMMAND PROVIDER  # comment', got %r" % (n, line.rstrip())
            assert fields[0] not in out, "commands.txt:%d: %s listed twice" % (n, fields[0])
            out[fields[0]] = fields[1]
    return out


def missing_report(found, listed):
    """The failure message for commands called but not in commands.txt, or ''."""
    missing = sorted(set(found) - set(listed))
    if not missing:
        return ""
    lines = ["%s  (called at %s)" % (c, ", ".join(found[c][:5]) + (" ..." if len(found[c]) > 5 else ""))
             for c in missing]
    return ("commands called by scripts/tests but not in scripts/packages/commands.txt:\n  "
            + "\n  ".join(lines)
            + "\nadd each to scripts/packages/commands.txt with its provider, and its Debian "
              "package to scripts/packages/test.txt")


def _dpkg_fields(pkg, fields):
    r = subprocess.run(["dpkg-query", "-W", "-f", fields, pkg], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def _installed(pkg):
    return _dpkg_fields(pkg, "${Status}") == "install ok installed"


def _base_system(pkg):
    """Essential: yes or Priority: required: in every Debian 12 (minbase)."""
    out = _dpkg_fields(pkg, "${Essential} ${Priority}")
    if out is None:  # not installed here: ask the apt cache
        r = subprocess.run(["apt-cache", "show", "--no-all-versions", pkg], capture_output=True, text=True)
        out = " ".join(re.findall(r"^(?:Essential|Priority): (\S+)", r.stdout, re.M))
    words = out.split()
    return "yes" in words or "required" in words


def _spellings(path):
    """Debian 12 is merged-/usr: /usr/bin/cat is the /bin/cat coreutils ships."""
    m = re.match(r"(/usr)?(/(s?bin|lib\w*)/.*)", path)
    return {path, m.group(2), "/usr" + m.group(2)} if m else {path}


def _owners(paths):
    """{path: packages dpkg says ship it (any spelling)}; one dpkg call for all."""
    asked = set().union(*(_spellings(p) for p in paths))
    r = subprocess.run(["dpkg", "-S"] + sorted(asked), capture_output=True, text=True)
    by_path = {}
    for line in r.stdout.splitlines():
        if line.startswith("diversion ") or ": " not in line:
            continue
        pkgs, path = line.split(": ", 1)
        by_path.setdefault(path, set()).update(p.strip().split(":")[0] for p in pkgs.split(","))
    return {p: set().union(*(by_path.get(s, set()) for s in _spellings(p))) for p in paths}


def _direct_depends(pkg):
    out = _dpkg_fields(pkg, "${Pre-Depends}, ${Depends}") or ""
    return {re.split(r"[\s(:]", alt.strip())[0] for alt in re.split(r"[,|]", out) if alt.strip()}


def _go_ok(go):
    r = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True)
    m = re.match(r"go(\d+)\.(\d+)", r.stdout.strip())
    return r.returncode == 0 and m and (int(m.group(1)), int(m.group(2))) >= (1, 26)


# ------------------------------------------------------------ tests

@pytest.fixture(scope="module")
def found():
    return project_commands()


@pytest.fixture(scope="module")
def listed():
    return read_commands()


def test_every_called_command_is_listed(found, listed):
    report = missing_report(found, listed)
    assert not report, report


def test_no_listed_command_is_uncalled(found, listed):
    """commands.txt stays exact: an entry nothing calls any more goes."""
    stale = sorted(set(listed) - set(found))
    assert not stale, "in scripts/packages/commands.txt but called nowhere: %s" % ", ".join(stale)


def test_deb_providers_are_installed_by_bootstrap_or_base(listed):
    lists = set(package_list(*LISTS))
    bad = sorted("%s (deb:%s)" % (c, p[4:]) for c, p in listed.items()
                 if p.startswith("deb:") and p[4:] not in lists and not _base_system(p[4:]))
    assert not bad, ("commands.txt maps these to Debian packages that are neither in "
                     "scripts/packages/build.txt or test.txt nor Essential/required: "
                     + ", ".join(bad) + "; add the package to scripts/packages/test.txt")


def test_fallbacks_name_a_listed_deb_command(listed):
    """fallback:X: called only when X is missing; X itself must come from Debian."""
    bad = sorted(c for c, p in listed.items()
                 if p.startswith("fallback:") and not listed.get(p[9:], "").startswith("deb:"))
    assert not bad, "fallback:X where X is not a deb: command in commands.txt: %s" % ", ".join(bad)


def test_mapping_is_true_on_this_machine(listed):
    """After scripts/bootstrap: each deb: command is on PATH and dpkg says its
    file belongs to the mapped package, or to a package the mapped one
    directly depends on (java is in openjdk-17-jre-headless, which
    openjdk-17-jdk-headless pulls in)."""
    deb_paths = {c: shutil.which(c, path=DEBIAN_PATH) for c, p in listed.items() if p.startswith("deb:")}
    owners_of = _owners([q for p in deb_paths.values() if p for q in (p, os.path.realpath(p))])
    problems = []
    for cmd, prov in sorted(listed.items()):
        path = shutil.which(cmd)
        if prov.startswith("deb:"):
            pkg = prov[4:]
            # Looked up where Debian installs commands, not on PATH: a pyenv
            # python3 or a /usr/local docker ahead on PATH does not make the
            # mapping false (a fresh Debian machine has neither).
            path = deb_paths[cmd]
            if path is None:
                problems.append("%s: not in %s (is %s installed?)" % (cmd, DEBIAN_PATH, pkg))
                continue
            owners = owners_of[path] | owners_of[os.path.realpath(path)]
            if pkg not in owners and not owners & _direct_depends(pkg):
                problems.append("%s: %s is from %s, not %s (nor one of its dependencies)"
                                % (cmd, path, ", ".join(sorted(owners)) or "no package", pkg))
        elif prov == "go-proxy":
            fetched = os.path.join(REPO, "tests", "clients", "go", "bin", "go")
            if not (os.access(fetched, os.X_OK) and _go_ok(fetched)) and not (path and _go_ok(path)):
                problems.append("go: neither %s nor a go >= 1.26 on PATH" % fetched)
        elif prov.startswith("deb-if-missing:"):
            if path is None:
                problems.append("%s: not on PATH" % cmd)
        elif prov == "venv":
            if not os.access(os.path.join(REPO, "tests", "clients", ".venv", "bin", cmd), os.X_OK):
                problems.append("%s: not in tests/clients/.venv/bin" % cmd)
        elif prov == "if-not-root":
            if os.getuid() != 0 and path is None:
                problems.append("%s: not root and no %s" % (cmd, cmd))
    assert not problems, "\n".join(problems)


def test_listed_packages_exist_in_apt_cache():
    """A typo in build.txt or test.txt fails here, not in bootstrap's apt-get."""
    packages = package_list(*LISTS)
    # One apt-cache call (each costs a second); it skips unknown names
    # quietly, so what it does show is compared with what was asked.
    r = subprocess.run(["apt-cache", "show", "--no-all-versions"] + packages,
                       capture_output=True, text=True)
    shown = set(re.findall(r"^Package: (\S+)", r.stdout, re.M))
    unknown = [p for p in packages if p not in shown]
    assert not unknown, "not in the apt cache: %s" % ", ".join(unknown)


def test_extractor_reports_an_unlisted_command(tmp_path, listed):
    """The check cannot pass vacuously: a script calling an unknown command is
    reported, through every wrapper, and functions and builtins are not."""
    script = tmp_path / "synthetic.sh"
    script.write_text("""#!/usr/bin/env bash
. "$root/scripts/lib.sh"
my_function() { echo hi; }
my_function
say "sourced functions are not commands"
frobnicate-7x --now
env FOO=1 sudo -u nobody timeout -s KILL 5 wrapped-7x arg
$as_root rooted-7x
quietly "a step" quiet-7x
command -v probed-7x >/dev/null
x=$(substituted-7x)
one='inner-7x "$1"'
sh -c "$one" sh arg
trap 'trapped-7x' EXIT
printf '%s\\n' a | xargs -P 2 -I{} xargged-7x {}
"$engine" build  # unknown: not reported
./local/path
""")
    found = {}
    for cmd, line in shell_commands(str(script)):
        found.setdefault(cmd, []).append("%s:%d" % (script.name, line))
    want = {"frobnicate-7x", "wrapped-7x", "rooted-7x", "quiet-7x", "probed-7x",
            "substituted-7x", "inner-7x", "trapped-7x", "xargged-7x"}
    assert want <= set(found)
    # the wrappers are programs too; the shebang's bash runs the script
    assert set(found) - want == {"bash", "env", "sudo", "timeout", "xargs", "sh"}, found
    assert found["frobnicate-7x"] == ["synthetic.sh:6"]
    assert found["inner-7x"] == ["synthetic.sh:12"]
    report = missing_report(found, listed)
    assert "frobnicate-7x  (called at synthetic.sh:6)" in report
    assert "scripts/packages/test.txt" in report

    py = tmp_path / "synthetic.py"
    py.write_text('import subprocess, shutil\n'
                  'subprocess.run(["py-7x", "-v"])\n'
                  'subprocess.Popen(["cat-7x"] + args)\n'
                  'shutil.which("which-7x")\n'
                  'subprocess.check_output("line-7x --x", shell=True)\n'
                  'run(["wrapped-py-7x"])\n'
                  'subprocess.run(argv)\n')
    assert sorted(python_commands(str(py))) == [
        ("cat-7x", 3), ("line-7x", 5), ("py-7x", 2), ("which-7x", 4), ("wrapped-py-7x", 6)]


def test_extractor_finds_known_commands(found):
    """Commands the tree is known to call: the scan reaches its files."""
    for cmd in ("podman", "kcat", "mvn", "go", "meson", "java", "node", "apt-get"):
        assert cmd in found, "%s not found in the scripts and tests" % cmd
