"""`gridflow translations export|import`: the processes folder's labels as a PO file for
translators, and their work written back into the files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gridflow.labels.book import language_tag
from gridflow.labels.po import TranslationFileError, export, import_po

LANGUAGE = click.option(
    "--lang",
    required=True,
    help="The translation's language: zh_Hans (or a BCP 47 tag such as zh-Hans).",
)
FOLDER = click.option(
    "--processes",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The processes folder (default: GRIDFLOW_PROCESSES or processes/).",
)


def _folder(folder: Path | None) -> Path:
    from gridflow.runtime import processes_dir

    return folder or processes_dir()


def _check_language(lang: str) -> str:
    if language_tag(lang) == "en":
        raise click.UsageError("English is the files' own language: choose another one")
    return lang


@click.group("translations")
def translations() -> None:
    """Translators' PO files for the labels of processes, decisions, roles and rules."""


@translations.command("export")
@LANGUAGE
@FOLDER
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def export_command(lang: str, folder: Path | None, out: Path) -> None:
    """Write every label with its current translation (empty when missing) to OUT.po."""
    lang = _check_language(lang)
    with out.open("wb") as handle:
        count = export([_folder(folder)], lang, handle)
    click.echo(f"{count} label(s) written to {out}", err=True)


@translations.command("import")
@LANGUAGE
@FOLDER
@click.argument("po", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(lang: str, folder: Path | None, po: Path) -> None:
    """Write the translated (not fuzzy) messages of PO into the files; messages whose English
    text has changed since the export are skipped and listed."""
    lang = _check_language(lang)
    try:
        with po.open("rb") as handle:
            result = import_po(_folder(folder), handle, lang)
    except TranslationFileError as exc:
        click.echo(f"error: {po}: {exc}", err=True)
        sys.exit(1)
    for file_name, count in sorted(result.written.items()):
        click.echo(f"{file_name}: {count} label(s) written")
    for context in result.stale:
        click.echo(f"skipped {context}: its English text changed since the export", err=True)
    for context in result.unknown:
        click.echo(f"skipped {context}: no such label", err=True)
    if not result.written:
        click.echo("nothing to write: every translation is already in the files", err=True)
