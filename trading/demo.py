"""`flask demo`: fills a realistic demo county (placeholder until the demo data lands)."""

import click


@click.command("demo", help="Fill the database with the demo county (示范县).")
def demo_command():
    click.echo("demo: nothing yet")
