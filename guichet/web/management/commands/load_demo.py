from django.core.management.base import BaseCommand

from guichet.web.demo import load_demo, personas_table


class Command(BaseCommand):
    help = "Loads the demo institution's data (idempotent) and prints the demo personas."

    def handle(self, *args: object, **options: object) -> None:
        load_demo()
        self.stdout.write(personas_table())
