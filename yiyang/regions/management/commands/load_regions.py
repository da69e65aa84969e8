from pathlib import Path

from django.core.management.base import BaseCommand

from yiyang.regions.operations import regions_load_file, regions_load_lishui


class Command(BaseCommand):
    help = "Load administrative divisions (default: Lishui City) from a CSV: code,name,level,parent_code"

    def add_arguments(self, parser):
        parser.add_argument("csv", nargs="?", help="another city's file; omit for Lishui")

    def handle(self, *args, csv=None, **options):
        created = regions_load_file(Path(csv)) if csv else regions_load_lishui()
        self.stdout.write(f"{created} regions created")
