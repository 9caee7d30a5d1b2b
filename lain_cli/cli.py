"""lain's command tree.

Commands live in ``lain_cli/commands/<module>.py`` and are imported only when
invoked (``lain --help`` stays fast: no yaml, jinja2 or rich import).  Each
command is thin: it parses options and calls the library layer.  ``main``
turns every :class:`~lain_cli.errors.LainError` into a short message and an
exit code; an unexpected exception is written to a log file, never dumped as a
traceback on the user.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import click

from lain_cli import __version__

# name -> (module under lain_cli.commands, attribute, one-line summary for --help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "version": ("version", "version", "Show lain, helm, kubectl and cluster versions."),
    "deploy": ("deploy", "deploy", "Release the app: migrations, helm upgrade, rollout tracked until ready or failed."),
    "update-image": ("update_image", "update_image", "Roll a new image to the named procs only; all else stays as deployed."),
    "rollback": ("rollback", "rollback", "Roll back to the previous good revision (or --revision N) and track it."),
    "history": ("history", "history", "List revisions: time, status, who deployed, image per proc."),
    "wait": ("wait", "wait", "Wait until every pod is running and ready; exit 1 on failure or timeout."),
    "diff": ("diff", "diff", "Show what a deploy would change, per resource, Secret data masked."),
    "status": ("status", "status", "The green light: pods, error logs, endpoints, tests; live on a terminal."),
    "logs": ("logs", "logs", "Print the logs of a proc's pods, a job, or one pod."),
    "x": ("x", "x", "Run a command, or a shell, in a running pod of a proc."),
    "use": ("use", "use", "Select the cluster to act on, or list clusters."),
    "init": ("init", "init", "Create a commented starter chart/values.yaml."),
    "env": ("env", "env", "Show and change the app's environment variables (kept in a Secret)."),
    "secret": ("secret", "secret", "Show and change the app's secret files (kept in a Secret)."),
    "send-msg": ("send_msg", "send_msg", "Post a message to the app's webhook."),
    "template": ("template", "template", "Render the manifests exactly as deploy would (helm template)."),
    "lint": ("lint", "lint", "Validate values and the rendered manifests; no cluster needed."),
    "completion": ("completion", "completion", "Print the shell completion script (bash, zsh, fish)."),
    "uninstall": ("uninstall", "uninstall", "Remove the release (asks first; env and secret kept unless --purge)."),
    "build": ("build", "build", "Build the app's image with docker (--push: and push it)."),
    "push": ("build", "push", "Push the image that lain build made to the cluster's registry."),
    "restart": ("restart", "restart", "Rolling restart of procs, tracked until ready or failed."),
    "job": ("job", "job", "Run a command in a one-off Job with a proc's image, env and volumes."),
    "create-job": ("create_job", "create_job", "Run a cronjob now, its logs streamed, its exit code lain's."),
}
# other names of a command: accepted, completed, not listed twice in --help
ALIASES: dict[str, str] = {"delete": "uninstall"}


def complete_clusters(incomplete: str) -> list[str]:
    """The cluster names that start with ``incomplete`` (shell completion; local files only)."""
    from lain_cli import completions

    return completions.cluster_names(incomplete)


@dataclass(frozen=True)
class GlobalOptions:
    """Options shared by every command, given before or after the command name."""

    values_files: tuple[str, ...] = ()
    cluster: str | None = None
    verbose: bool = False
    json: bool = False
    color: bool | None = None
    namespace: str | None = None
    kube_context: str | None = None


def _option_table(params: list[click.Parameter]) -> dict[str, bool]:
    """Every option string of ``params`` -> whether it takes a value (eager ones left out)."""
    table: dict[str, bool] = {}
    for param in params:
        if isinstance(param, click.Option) and not param.is_eager:
            takes_value = not param.is_flag and not param.count
            for name in (*param.opts, *param.secondary_opts):
                table[name] = takes_value
    return table


def _own_options(command: click.Command, ctx: click.Context) -> dict[str, bool]:
    """The options a command (and, for a group such as ``env``, its subcommands) defines itself."""
    table = _option_table(command.get_params(ctx))
    table.update({"-h": False, "--help": False})
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                table.update(_own_options(sub, ctx))
    return table


def _split_option(token: str) -> tuple[str, bool]:
    """(option name, whether its value is attached): ``--values=x`` and ``-fx`` carry theirs."""
    if token.startswith("--"):
        name, eq, _ = token.partition("=")
        return name, bool(eq)
    return token[:2], len(token) > 2


def hoist_global_options(group: click.Group, ctx: click.Context, args: list[str]) -> list[str]:
    """``args`` with the global options found after the command name moved before it.

    ``lain deploy --cluster prod -f x.yaml --json`` becomes ``lain --cluster prod
    -f x.yaml --json deploy``, as kubectl takes its global flags anywhere.  An
    option the command defines itself keeps its meaning there (``lain logs -f``
    follows, as ``kubectl logs -f`` does), and nothing after ``--`` is touched.
    """
    globals_ = _option_table(group.params)
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--" or not token.startswith("-") or token == "-":
            break
        name, attached = _split_option(token)
        index += 2 if globals_.get(name) and not attached else 1
    if index >= len(args) or args[index] == "--":
        return args
    command = group.get_command(ctx, args[index])
    if command is None:
        return args
    own = _own_options(command, ctx)
    moved: list[str] = []
    kept: list[str] = []
    rest = args[index + 1 :]
    position = 0
    while position < len(rest):
        token = rest[position]
        if token == "--":
            kept += rest[position:]
            break
        if not token.startswith("-") or token == "-":
            kept.append(token)
            position += 1
            continue
        name, attached = _split_option(token)
        # the command's own option wins; an option neither knows is left for click to name
        table, target = (globals_, moved) if name in globals_ and name not in own else (own, kept)
        width = 2 if table.get(name) and not attached else 1
        target += rest[position : position + width]
        position += width
    return [*args[:index], *moved, args[index], *kept]


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(ALIASES.get(cmd_name, cmd_name))
        if entry is None:
            return None
        module = importlib.import_module(f"lain_cli.commands.{entry[0]}")
        command: click.Command = getattr(module, entry[1])
        for each in [command, *(getattr(command, "commands", {}) or {}).values()]:
            each.epilog = each.epilog or self._global_options_hint(each, ctx)
        return command

    def _global_options_hint(self, command: click.Command, ctx: click.Context) -> str:
        """Which global options also work after this command (those it does not define itself)."""
        own = _option_table(command.get_params(ctx))
        names = []
        for param in self.params:
            if isinstance(param, click.Option) and not param.is_eager:
                kept = [o for o in (*param.opts, *param.secondary_opts) if o not in own]
                if kept:
                    names.append("/".join(kept))
        return f"Global options work here too, before or after the command: {', '.join(names)} (see lain --help)."

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[click.shell_completion.CompletionItem]:
        from click.shell_completion import CompletionItem

        items = super().shell_complete(ctx, incomplete)
        if incomplete and not incomplete.startswith("-"):
            items += [CompletionItem(alias) for alias in ALIASES if alias.startswith(incomplete)]
        return items

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(self, ctx, list(args)))

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[no-untyped-def]
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS and name not in ALIASES:
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            hint = f" Did you mean `lain {close[0]}`?" if close else ""
            raise click.UsageError(f"no such command {name!r}.{hint} See `lain --help`.", ctx)
        return super().resolve_command(ctx, args)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Global options work before or after the command (lain deploy --cluster prod --json). "
    "Run `lain COMMAND --help` for a command's options and examples.",
)
@click.option(
    "-f",
    "--values",
    "values_files",
    multiple=True,
    metavar="FILE",
    help="Extra values file, applied after chart/values.yaml and chart/values-<cluster>.yaml "
    "(repeatable, in order). Overriding appname here makes a separate app.",
)
@click.option("--cluster", metavar="NAME", help="Cluster to act on (default: the one chosen by `lain use`).",
              shell_complete=lambda ctx, param, incomplete: complete_clusters(incomplete))
@click.option("-n", "--namespace", metavar="NS", help="Namespace for this command, instead of the cluster file's.")
@click.option("--kube-context", metavar="NAME", help="Kube context for this command, instead of the cluster's.")
@click.option("-v", "--verbose", is_flag=True, help="Show every helm/kubectl command and its timing.")
@click.option("--json", "json_output", is_flag=True, help="Machine-readable output where a command has it.")
@click.option("--no-color", is_flag=True, help="Plain output without colors (also: NO_COLOR=1).")
@click.version_option(__version__, "--version", prog_name="lain", message="%(prog)s %(version)s")
@click.pass_context
def cli(
    ctx: click.Context,
    values_files: tuple[str, ...],
    cluster: str | None,
    namespace: str | None,
    kube_context: str | None,
    verbose: bool,
    json_output: bool,
    no_color: bool,
) -> None:
    """lain: safe, observable Kubernetes releases from chart/values.yaml.

    \b
    Typical use:
      lain use dev            # pick a cluster
      lain deploy             # render, release, track until green
      lain status             # the live panel: pods, logs, endpoints
      lain rollback           # back to the previous good revision
    """
    from lain_cli import console, proc

    proc.set_verbose(verbose)
    console.configure(color=False if no_color else None, json_output=json_output)
    ctx.obj = GlobalOptions(
        values_files=values_files,
        cluster=cluster,
        verbose=verbose,
        json=json_output,
        color=False if no_color else None,
        namespace=namespace,
        kube_context=kube_context,
    )


# Environment variables lain reads (besides every LAIN_*): their text must be UTF-8.
READ_ENVIRONMENT = ("HOME", "USER", "USERNAME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME",
                    "EDITOR", "VISUAL", "KUBECONFIG", "NO_COLOR")


def _bad_byte(text: str) -> int | None:
    """The first byte that was not UTF-8 (Python keeps such bytes as lone surrogates), if any."""
    for char in text:
        if "\udc80" <= char <= "\udcff":
            return ord(char) - 0xDC00
    return None


def check_text(argv: Sequence[str], environ: Mapping[str, str]) -> None:
    """A UsageError naming the first argument or environment variable that is not UTF-8 text.

    Such text would fail later, somewhere (a Secret, a JSON body, the terminal).
    The message never shows the value of an env/secret argument.
    """
    from lain_cli import crashlog
    from lain_cli.errors import UsageError

    hint = ("lain reads its arguments and environment as UTF-8: check the encoding of the terminal "
            "(LANG, LC_ALL) or of the script that builds the command")
    shown, _ = crashlog.safe_argv(argv)
    for index, arg in enumerate(argv):
        byte = _bad_byte(arg)
        if byte is not None:
            text = shown[index].encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise UsageError(f"argument {index + 1} ({text}) is not valid UTF-8 text (byte 0x{byte:02x})",
                             hint=hint)
    for name in sorted(environ):
        if name.startswith("LAIN_") or name in READ_ENVIRONMENT:
            byte = _bad_byte(environ[name])
            if byte is not None:
                raise UsageError(f"the environment variable {name} is not valid UTF-8 text (byte 0x{byte:02x})",
                                 hint=hint)


def _settle_notices() -> None:
    """Wait (bounded) for webhook notices still on their way; one warning for those that did not arrive."""
    notify = sys.modules.get("lain_cli.notify")
    if notify is not None:
        notify.settle()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``lain`` console script."""
    from lain_cli import crashlog, interrupts, proc
    from lain_cli.errors import EXIT_FAILED, EXIT_USAGE, LainError

    args = list(sys.argv[1:] if argv is None else argv)
    code: int = 0
    try:
        with interrupts.handling():
            try:
                check_text(args, os.environ)
                result = cli.main(args=args, prog_name="lain", standalone_mode=False)
                code = result if isinstance(result, int) else 0
            finally:
                proc.end_children()  # no kubectl watch or log stream outlives lain
    except LainError as exc:
        print(exc.render(), file=sys.stderr)
        code = exc.exit_code
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = EXIT_USAGE if exc.exit_code == 2 else exc.exit_code
    except click.Abort as exc:
        # click turns KeyboardInterrupt into Abort; the signal is its cause
        if isinstance(exc.__cause__, KeyboardInterrupt):
            stopped = interrupts.as_interrupted(exc.__cause__)
            print(f"interrupted ({stopped.what})", file=sys.stderr)
            code = stopped.exit_code
        else:
            print("aborted", file=sys.stderr)
            code = 130
    except KeyboardInterrupt as exc:
        stopped = interrupts.as_interrupted(exc)
        print(f"\ninterrupted ({stopped.what})", file=sys.stderr)
        code = stopped.exit_code
    except BrokenPipeError:
        # stdout closed early (`lain ... | head`): not an error worth a message
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except Exception as exc:  # noqa: BLE001 - last line of defence: no tracebacks on users
        where = crashlog.write(exc, __version__, args)
        line = crashlog.scrub(f"{exc.__class__.__name__}: {exc}", args)
        print(f"error: internal error in lain: {line}", file=sys.stderr)
        if where:
            print(f"hint: the details are in {where}; please attach it to a bug report (the values of "
                  "env/secret arguments and any Secret data are left out of it)", file=sys.stderr)
        code = EXIT_FAILED
    with contextlib.suppress(Exception):  # a notice never changes the outcome
        _settle_notices()
    if argv is None:  # the console script: nothing runs in this process after lain
        _end_process(code)
    sys.exit(code)


def _end_process(code: int) -> None:
    """End the process as the interpreter would, less its final teardown.

    Threads are joined and exit handlers run as at a normal exit (a lock being
    released, a pool's workers), the standard streams flushed; then the process
    ends without freeing every module and object one by one, which takes a
    deploy some 25 ms for nothing."""
    import atexit
    import threading

    shutdown = getattr(threading, "_shutdown", None)  # joins non-daemon threads, as the interpreter does
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if shutdown is None or run_exit_handlers is None:
        sys.exit(code)
    shutdown()
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`lain ... | head`): nothing more to say
            stream.flush()
    os._exit(code)
