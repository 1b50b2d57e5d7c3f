"""Sweep benchmark: items read per expired invitation, as the tables grow.

DESIGN.md's target: the sweep reads about one item per invitation it expires, whether the tables hold
1,000 or 100,000 employees, because it queries the sparse due index (`dueAt <= now`) instead of
scanning. This sets up the tables from template.yaml in moto (in this process), writes `employees`
employees of whom `due` have an invitation past its expiry and the rest were never invited, were
invited recently (due later) or activated long ago, runs the sweep once and reports what DynamoDB
says it read (the queries' ScannedCount) per expired invitation.

    python scripts/bench_sweep.py [EMPLOYEES ...]

`sweep_read_ratio` is what scripts/bench.py calls.

Sizes: on the 2-core development machine 1,000 employees take ~3 s and 50,000 ~1 min 55 s, but
100,000 take ~3 min 40 s (writing the tables ~95 s, the sweep ~115 s). Nearly all of it is moto, not
the sweep: moto deep-copies every table a transaction touches, for its rollback, so each of the 10
expiries costs a copy of both whole tables. The default therefore stops at 50,000, the largest size
that fits in about two minutes, and says so; `python scripts/bench_sweep.py 100000` runs the full
size (measured ratio: 10 items read for 10 expired = 1.00, as at 1,000 and 50,000).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
NOW = datetime(2026, 12, 8, 12, 0, 0, tzinfo=UTC)
EMPLOYEES_PER_EMPLOYER = 1000
DEFAULT_SIZES = (1_000, 50_000)
TARGET_SIZE = 100_000  # DESIGN.md's size; see the module docstring for why the default stops at 50,000
DUE = 10


def prepare_environment() -> None:
    for path in (ROOT / "layers" / "common", ROOT):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    from local.offline import use_fake_environment

    use_fake_environment("bench")


@dataclass
class Population:
    """What `populate` wrote: the ids of the invitations that are past their expiry."""

    employees: int
    due: list[str] = field(default_factory=list)
    open_not_due: int = 0


def populate(employees: int, due: int, now: datetime = NOW) -> Population:
    """Write employees with PynamoDB batch writes (fast): the first `due` with an invitation past its
    expiry; the others in turn never invited, invited in the last 70 hours (due later) or activated
    long ago (an ended invitation, outside the index)."""
    from werknemerloket.clock import to_iso
    from werknemerloket.data.invitations import DynamoInvitationRepository
    from werknemerloket.data.models import EmployeeModel, EmployerModel, InvitationModel, InvitationSummaryAttribute
    from werknemerloket.domain.entities import INVITATION_VALIDITY, AccessStatus, Invitation, InvitationStatus
    from werknemerloket.settings import get_settings

    repository = DynamoInvitationRepository(get_settings())
    population = Population(employees)
    with EmployerModel.batch_write() as employers:
        for e in range((employees + EMPLOYEES_PER_EMPLOYER - 1) // EMPLOYEES_PER_EMPLOYER):
            employers.save(
                EmployerModel(f"bench-{e}", name=f"Werkgever {e}", created_at=to_iso(now), updated_at=to_iso(now))
            )
    with EmployeeModel.batch_write() as people, InvitationModel.batch_write() as invitations:
        for n in range(employees):
            employer_id, employee_id = f"bench-{n // EMPLOYEES_PER_EMPLOYER}", f"{n:07d}"
            person = EmployeeModel(
                employer_id,
                employee_id,
                name=f"Werknemer {n}",
                email=f"w{n}@example.nl",
                date_of_birth=date(1980 + n % 30, 1 + n % 12, 1 + n % 28).isoformat(),
                language="nl" if n % 4 else "en",
                state=AccessStatus.NOT_ACTIVATED.value,
                created_at=to_iso(now),
                updated_at=to_iso(now),
            )
            kind = "due" if n < due else ("never", "recent", "used")[n % 3]
            if kind != "never":
                sent_at = {
                    "due": now - INVITATION_VALIDITY - timedelta(hours=1 + n % 48),
                    "recent": now - timedelta(minutes=n % (70 * 60)),
                    "used": now - timedelta(days=30 + n % 300),
                }[kind]
                invitation = Invitation(
                    invitation_id=f"inv-{n:07d}",
                    employer_id=employer_id,
                    employee_id=employee_id,
                    status=InvitationStatus.USED if kind == "used" else InvitationStatus.PENDING,
                    sent_at=sent_at,
                    expires_at=sent_at + INVITATION_VALIDITY,
                    send_count=1,
                )
                item = repository.invitation_item(invitation)
                if kind == "used":
                    item.due_shard = None
                    item.due_at = None
                    person.state = AccessStatus.ACTIVE.value
                else:
                    person.state = AccessStatus.INVITED.value
                person.invitation = InvitationSummaryAttribute(
                    invitation_id=invitation.invitation_id,
                    status=invitation.status.value,
                    sent_at=to_iso(invitation.sent_at),
                    expires_at=to_iso(invitation.expires_at),
                    send_count=invitation.send_count,
                )
                invitations.save(item)
                if kind == "due":
                    population.due.append(invitation.invitation_id)
                elif kind == "recent":
                    population.open_not_due += 1
            people.save(person)
    return population


class _Outbox:
    """Takes the mail instead of SES; the benchmark sends none (nothing is at its reminder moment)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def send(self, to: str, content: Any) -> None:
        self.sent.append((to, content))


def run_sweep(now: datetime = NOW) -> Any:
    """One run of the real sweep (DynamoDB store, standard texts) at `now`."""
    from werknemerloket.clock import FixedClock
    from werknemerloket.data.sweep import DynamoSweepStore
    from werknemerloket.data.templates import DynamoTemplateStore
    from werknemerloket.domain.sweep import SweepService
    from werknemerloket.mail.texts import MailTexts
    from werknemerloket.settings import get_settings

    settings = get_settings()
    clock = FixedClock(now)
    service = SweepService(
        DynamoSweepStore(settings),
        MailTexts(DynamoTemplateStore(), clock=clock),
        _Outbox(),
        clock,
        settings.public_base_url,
        timedelta(hours=settings.reminder_hours_before_expiry),
    )
    return service.run()


@dataclass(frozen=True)
class Measurement:
    employees: int
    expired: int
    items_read: int
    populate_seconds: float
    sweep_seconds: float

    @property
    def ratio(self) -> float:
        return self.items_read / self.expired if self.expired else float("inf")


def measure(employees: int, due: int = DUE) -> Measurement:
    prepare_environment()
    import boto3
    from moto import mock_aws

    from local.offline import create_tables

    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name=os.environ["AWS_REGION"]))
        started = time.monotonic()
        populate(employees, due)
        populated = time.monotonic()
        result = run_sweep()
        swept = time.monotonic()
    return Measurement(employees, result.expired, result.items_read, populated - started, swept - populated)


def sweep_read_ratio(employees: int, due: int = DUE) -> tuple[int, int, float]:
    """(items read, invitations expired, items read per expired invitation) of one sweep over
    `employees` employees of whom `due` have an invitation past its expiry."""
    m = measure(employees, due)
    return m.items_read, m.expired, m.ratio


def main(argv: list[str]) -> int:
    sizes = [int(a.replace("_", "").replace(",", "")) for a in argv] or list(DEFAULT_SIZES)
    print(f"sweep: items read per expired invitation ({DUE} due; moto in process)")
    if max(sizes) < TARGET_SIZE:
        print(
            f"  (largest size {max(sizes):,}, not {TARGET_SIZE:,}: that takes ~3 min 40 s on a 2-core machine, "
            "mostly moto copying whole tables per transaction; run `python scripts/bench_sweep.py 100000`)"
        )
    for size in sizes:
        m = measure(size)
        print(
            f"  {m.employees:>9,} employees: {m.items_read} items read for {m.expired} expired = {m.ratio:.2f} "
            f"(writing the tables {m.populate_seconds:.1f} s, sweep {m.sweep_seconds:.2f} s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
