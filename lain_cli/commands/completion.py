"""`lain completion`: the shell completion script, from click."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_LAIN_COMPLETE"

def completion_script(shell: str) -> str:
    """The script that makes ``shell`` complete lain's commands, options and arguments."""
    from click.shell_completion import get_completion_class

    from lain_cli.cli import cli

    cls = get_completion_class(shell)
    if cls is None:
        from lain_cli.errors import UsageError

        raise UsageError(f"no completion for shell {shell!r}", hint=f"choose one of: {', '.join(SHELLS)}")
    return cls(cli, {}, "lain", COMPLETE_VAR).source()


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_obj
def completion(opts: GlobalOptions, shell: str) -> int:
    """Print the shell completion script for bash, zsh or fish.

    Completes command names, options and fixed choices.  Load it in each
    shell session, or install it once:

    \b
      bash: eval "$(lain completion bash)"    # in ~/.bashrc
      zsh:  eval "$(lain completion zsh)"     # in ~/.zshrc, after compinit
      fish: lain completion fish > ~/.config/fish/completions/lain.fish

    \b
    Example:
      lain completion bash > ~/.local/share/bash-completion/completions/lain
    """
    from lain_cli import outputs

    outputs.refuse_json(opts, "completion", "a shell script")
    click.echo(completion_script(shell), nl=False)
    return 0
