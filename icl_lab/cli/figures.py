"""``icl-lab figs`` and ``icl-lab reproduce``: the papers' figures, their claims and the gallery.

``figs`` lists figures, makes them into an output folder, or redraws them from stored results
(``--from-results``: no training, seconds). ``reproduce`` makes figures, checks each claim,
and writes the gallery (``docs/gallery``: PNG + results JSON per figure and a README table).
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from icl_lab.cli.errors import friendly

PRESET_HELP = "quick (CPU minutes), paper (the paper's settings) or smoke (plumbing)."
RUNS_HELP = "Folder of the runs behind the figures (reused when their config matches)."


def _verdict_line(entry) -> str:
    head = entry.checks[0]
    value = "—" if head.lab_value is None else f"{head.lab_value:.3g}"
    return f"{entry.name:<40} {entry.verdict:<18} lab {value:<8} {entry.wall_s:7.0f}s  {head.statement}"


@friendly
def figs(names: list[str] = typer.Argument(None, help="Figures (exact name or prefix, e.g. fig01); none: list."),
         preset: str = typer.Option("quick", help=PRESET_HELP),
         out: Path = typer.Option(Path("figs_out"), help="Folder the figures and their JSON go to."),
         runs: Path = typer.Option(Path("figs_out/runs"), help=RUNS_HELP),
         all_: bool = typer.Option(False, "--all", help="Every figure."),
         from_results: bool = typer.Option(False, "--from-results", help="Redraw from stored results; no training."),
         results: Path = typer.Option(Path("docs/gallery"), help="Where --from-results reads the results JSON.")) -> None:
    """List, make or redraw the figures of the reproduced papers (modules in paper_figs/)."""
    from paper_figs import gallery

    if not names and not all_:
        for name in gallery.figure_names():
            typer.echo(f"{name:<40} {gallery.title(gallery.load_figure(name))}")
        typer.echo("make with: icl-lab figs NAME [--preset quick|paper]; redraw: icl-lab figs NAME --from-results")
        return
    gallery.check_preset(preset)
    chosen = gallery.select(names, all_)
    if from_results:  # read every file first: a missing one stops the command before any drawing
        entries = [gallery.recheck(gallery.read_entry(results, name, preset)) for name in chosen]
        for entry in entries:
            t0 = time.perf_counter()
            path = gallery.draw(entry, out)
            typer.echo(f"{entry.name}: {path} ({entry.verdict}, {time.perf_counter() - t0:.1f}s)")
        return
    for name in chosen:
        entry = gallery.make(name, preset, runs)
        typer.echo(f"{name}: {', '.join(map(str, gallery.write(entry, out)))} ({entry.verdict}, {entry.wall_s:.0f}s)")


@friendly(interrupted="interrupted: finished runs are kept; re-run the same command to continue")
def reproduce(names: list[str] = typer.Argument(None, help="Figures (exact name or prefix); with --all: every one."),
              all_: bool = typer.Option(False, "--all", help="Every figure."),
              preset: str = typer.Option("quick", help=PRESET_HELP),
              gallery_dir: Path = typer.Option(Path("docs/gallery"), "--gallery", help="Gallery folder written."),
              runs: Path = typer.Option(Path("figs_out/runs"), help=RUNS_HELP),
              json_: bool = typer.Option(False, "--json", help="Print one JSON object keyed by figure name.")) -> None:
    """Make figures (training or reusing their runs), check each claim, and write the gallery."""
    from icl_lab.core.errors import ConfigError
    from icl_lab.core.runs import dumps
    from paper_figs import gallery

    gallery.check_preset(preset)
    if not names and not all_:
        raise ConfigError("name the figures to reproduce, or pass --all")
    chosen = gallery.select(names, all_)
    summary, failed, t_all = {}, [], time.perf_counter()
    for name in chosen:
        try:
            entry = gallery.make(name, preset, runs)
        except Exception as exc:  # one broken figure must not cost the hour spent on the others
            failed.append(name)
            typer.echo(f"{name}: figure failed: {type(exc).__name__}: {exc}", err=True)
            continue
        gallery.write(entry, gallery_dir)
        summary[name] = entry.summary()
        typer.echo(_verdict_line(entry), err=json_)
    if summary:
        gallery.write_readme(gallery_dir)
    if json_:
        typer.echo(dumps(summary, indent=1))
    else:
        typer.echo(f"{len(summary)} figures in {time.perf_counter() - t_all:.0f}s; gallery: {gallery_dir}/README.md")
    if failed:
        typer.echo(f"failed: {', '.join(failed)}", err=True)
        raise typer.Exit(1)


def register_figure_commands(app: typer.Typer) -> None:
    """Add ``figs`` and ``reproduce`` to a typer app (the main ``icl-lab`` app)."""
    app.command("figs")(figs)
    app.command("reproduce")(reproduce)

