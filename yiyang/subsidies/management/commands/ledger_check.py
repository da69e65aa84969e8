from django.core.management.base import BaseCommand, CommandError

from yiyang.subsidies.ledger import ledger_check
from yiyang.subsidies.models import Account, Entry
from yiyang.timebank.models import HourAccount, HourEntry


class Command(BaseCommand):
    help = "Recompute every voucher and hour balance from the entries; fail if a cached balance, the zero sum or a floor is off."

    def handle(self, *args, **options):
        failed = False
        for name, accounts, entries in (("vouchers (fen)", Account, Entry), ("hours (minutes)", HourAccount, HourEntry)):
            report = ledger_check(accounts, entries)
            self.stdout.write(
                f"{name}: {report.accounts} accounts, {report.entries} entries, sum {report.total}, "
                f"{len(report.mismatched)} mismatched, {len(report.negative)} below zero"
            )
            for pk, cached, computed in report.mismatched[:20]:
                self.stdout.write(f"  account {pk}: cached {cached}, entries say {computed}")
            failed = failed or not report.ok
        if failed:
            raise CommandError("ledger check failed")
