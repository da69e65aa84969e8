from datetime import date

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yiyang.core.models import TimeStampedModel

ID_FIELD = "people.elder.id_number"
PHONE_FIELD = "people.elder.phone"
CONTACT_PHONE_FIELD = "people.contact.phone"
OLDEST_OLD_AGE = 80
MIN_AGE = 60


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class ElderStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("elder status", "Active")
    DECEASED = "deceased", _("Deceased")
    MOVED_AWAY = "moved_away", _("Moved away")


class LivingArrangement(models.TextChoices):
    ALONE = "alone", _("Living alone")
    EMPTY_NEST = "empty_nest", _("Empty nest")
    WITH_FAMILY = "with_family", _("With family")
    INSTITUTION = "institution", _("In an institution")


class Elder(TimeStampedModel):
    """One person's file (一人一档). Scope follows `residence_region`."""

    name = models.CharField(_("name"), max_length=64, db_index=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices)
    birth_date = models.DateField(_("birth date"))
    residence_region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="resident_elders", verbose_name=_("residence region")
    )
    hukou_region = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="hukou_elders", verbose_name=_("hukou region")
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    living_arrangement = models.CharField(
        _("living arrangement"), max_length=16, choices=LivingArrangement.choices, default=LivingArrangement.WITH_FAMILY
    )
    status = models.CharField(_("status"), max_length=16, choices=ElderStatus.choices, default=ElderStatus.ACTIVE)

    # Personal data: encrypted (crypto.py), looked up by keyed hash, never stored or shown in clear.
    id_number_enc = models.TextField(_("ID number (encrypted)"), blank=True, default="", editable=False)
    id_number_bidx = models.CharField(max_length=64, null=True, blank=True, editable=False)
    phone_enc = models.TextField(_("phone (encrypted)"), blank=True, default="", editable=False)
    phone_bidx = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    # WGS-84 (DESIGN.md): what GPS and browsers report; map services convert at the edge.
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    status_date = models.DateField(_("status date"), null=True, blank=True)
    status_reason = models.CharField(_("status reason"), max_length=255, blank=True, default="")
    # Registration under 60 is an officer's documented exception (e.g. a 特困 resident of a township care home).
    age_exception_reason = models.CharField(_("age exception reason"), max_length=255, blank=True, default="")
    age_exception_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("age exception by")
    )

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["id_number_bidx"], name="elder_unique_id_number"),
            models.CheckConstraint(condition=models.Q(lat__gte=-90, lat__lte=90) | models.Q(lat__isnull=True), name="elder_lat_range"),
            models.CheckConstraint(condition=models.Q(lng__gte=-180, lng__lte=180) | models.Q(lng__isnull=True), name="elder_lng_range"),
        ]

    def __str__(self) -> str:
        return self.name

    # Encrypted fields: the clear value is only ever returned by these two methods; callers that
    # show it to a person must go through operations.elder_unmask (permission, purpose, access log).
    def reveal_id_number(self) -> str:
        from yiyang.people import crypto

        return crypto.decrypt(self.id_number_enc, field=ID_FIELD)

    def reveal_phone(self) -> str:
        from yiyang.people import crypto

        return crypto.decrypt(self.phone_enc, field=PHONE_FIELD)

    def set_id_number(self, number: str) -> None:
        """`number` must already be normalised (idnumber.parse_id_number)."""
        from yiyang.people import crypto

        self.id_number_enc = crypto.encrypt(number, field=ID_FIELD)
        self.id_number_bidx = crypto.blind_index(number, field=ID_FIELD) if number else None

    def set_phone(self, phone: str) -> None:
        from yiyang.people import crypto

        self.phone_enc = crypto.encrypt(phone, field=PHONE_FIELD)
        self.phone_bidx = crypto.blind_index(phone, field=PHONE_FIELD) if phone else ""

    @property
    def id_number_masked(self) -> str:
        from yiyang.people import crypto

        return crypto.mask_id_number(self.reveal_id_number()) if self.id_number_enc else ""

    @property
    def phone_masked(self) -> str:
        from yiyang.people import crypto

        return crypto.mask_phone(self.reveal_phone()) if self.phone_enc else ""

    @property
    def age(self) -> int:
        return age_on(self.birth_date, date.today())

    @property
    def is_oldest_old(self) -> bool:
        """高龄: derived from age, never stored, so it is always current."""
        return self.age >= OLDEST_OLD_AGE


class ElderLink(TimeStampedModel):
    """Scope part 3: a user account related to an elder (a family member, or the elder's own account)."""

    class Relation(models.TextChoices):
        SELF = "self", _("Self")
        CHILD = "child", _("Child")
        SPOUSE = "spouse", _("Spouse")
        RELATIVE = "relative", _("Other relative")
        GUARDIAN = "guardian", _("Guardian")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="elder_links")
    elder = models.ForeignKey(Elder, on_delete=models.CASCADE, related_name="user_links")
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "elder"], name="one_link_per_user_and_elder")]


class Category(models.TextChoices):
    """Special-difficulty categories (several at once). 高龄 (80+) is derived from age, not stored."""

    TEKUN = "tekun", _("Extreme-poverty person (特困)")
    DIBAO = "dibao", _("Minimum living allowance (低保)")
    DIBIAN = "dibian", _("Marginal allowance (低边)")
    DISABLED = "disabled", _("Disabled (失能)")
    PARTIALLY_DISABLED = "partially_disabled", _("Partially disabled (半失能)")
    DEMENTIA = "dementia", _("Cognitively impaired (失智)")
    FAMILY_PLANNING = "family_planning", _("Family-planning special family (计划生育特殊家庭)")
    PRIORITY_ENTITLED = "priority_entitled", _("Priority entitled group (重点优抚对象)")


OLDEST_OLD = "oldest_old"  # the derived category's filter value


class ElderCategory(TimeStampedModel):
    """One category held from `since` until `ended` (null while held). Ended rows stay: eligibility looks back."""

    elder = models.ForeignKey(Elder, on_delete=models.CASCADE, related_name="categories")
    category = models.CharField(_("category"), max_length=24, choices=Category.choices)
    since = models.DateField(_("since"), null=True, blank=True)
    ended = models.DateField(_("ended"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=64, blank=True, default="")

    class Meta:
        ordering = ["category"]
        constraints = [
            models.UniqueConstraint(
                fields=["elder", "category"], condition=models.Q(ended__isnull=True), name="one_open_category_per_elder"
            ),
        ]

    def __str__(self) -> str:
        return self.get_category_display()


class ElderContact(TimeStampedModel):
    """A guardian or contact person. Phones are personal data too: encrypted, blind-indexed, masked."""

    class Relation(models.TextChoices):
        SPOUSE = "spouse", _("Spouse")
        CHILD = "child", _("Child")
        RELATIVE = "relative", _("Other relative")
        NEIGHBOUR = "neighbour", _("Neighbour")
        VILLAGE_CADRE = "village_cadre", _("Village / community cadre")
        OTHER = "other", _("Other")

    elder = models.ForeignKey(Elder, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=64)
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)
    is_guardian = models.BooleanField(_("legal guardian"), default=False)
    is_emergency = models.BooleanField(_("emergency contact"), default=True)
    phone_enc = models.TextField(blank=True, default="", editable=False)
    phone_bidx = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    # Set when a contact named in a consent is removed: the row stays so the consent keeps its guardian.
    ended_on = models.DateField(_("ended on"), null=True, blank=True)

    class Meta:
        ordering = ["-is_guardian", "pk"]

    def __str__(self) -> str:
        return self.name

    def set_phone(self, phone: str) -> None:
        from yiyang.people import crypto

        self.phone_enc = crypto.encrypt(phone, field=CONTACT_PHONE_FIELD)
        self.phone_bidx = crypto.blind_index(phone, field=CONTACT_PHONE_FIELD) if phone else ""

    def reveal_phone(self) -> str:
        from yiyang.people import crypto

        return crypto.decrypt(self.phone_enc, field=CONTACT_PHONE_FIELD)

    @property
    def phone_masked(self) -> str:
        from yiyang.people import crypto

        return crypto.mask_phone(self.reveal_phone()) if self.phone_enc else ""


# Status: a state machine with one transitions table and one row per change -----------------

STATUS_TRANSITIONS: dict[str, set[str]] = {
    ElderStatus.ACTIVE: {ElderStatus.DECEASED, ElderStatus.MOVED_AWAY},
    # A person who moved away may come back; a recorded death is only corrected by an officer's reversal.
    ElderStatus.MOVED_AWAY: {ElderStatus.ACTIVE},
    ElderStatus.DECEASED: {ElderStatus.ACTIVE},
}


class ElderStatusChange(models.Model):
    elder = models.ForeignKey(Elder, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=ElderStatus.choices)
    to_status = models.CharField(max_length=16, choices=ElderStatus.choices)
    effective_date = models.DateField(_("effective date"))
    reason = models.CharField(_("reason"), max_length=255)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.from_status} -> {self.to_status} ({self.effective_date})"


class ConsentKind(models.TextChoices):
    DATA_SHARING = "data_sharing", _("Data sharing between departments")
    LOCATION = "location", _("Location tracking")
    HEALTH = "health", _("Health data")


class ElderConsent(models.Model):
    """One dated decision on one kind of consent. The latest row per kind is in force; rows are never edited."""

    class GivenBy(models.TextChoices):
        SELF = "self", _("The elder")
        GUARDIAN = "guardian", _("The guardian")

    elder = models.ForeignKey(Elder, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(_("consent"), max_length=16, choices=ConsentKind.choices)
    granted = models.BooleanField(_("granted"))
    given_on = models.DateField(_("given on"))
    given_by = models.CharField(_("given by"), max_length=8, choices=GivenBy.choices)
    guardian = models.ForeignKey(ElderContact, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-given_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(given_by="self", guardian__isnull=True) | models.Q(given_by="guardian", guardian__isnull=False),
                name="consent_guardian_named_iff_given_by_guardian",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}={'yes' if self.granted else 'no'} ({self.given_on})"


class TransferStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the receiving county")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


TRANSFER_TRANSITIONS: dict[str, set[str]] = {
    TransferStatus.PENDING: {TransferStatus.ACCEPTED, TransferStatus.REJECTED, TransferStatus.CANCELLED},
}


class ElderTransfer(TimeStampedModel):
    """Moving a file between counties: the sending county initiates, the receiving county accepts."""

    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="transfers")
    from_region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("from"))
    to_region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("to"))
    status = models.CharField(_("status"), max_length=16, choices=TransferStatus.choices, default=TransferStatus.PENDING)
    reason = models.CharField(_("reason"), max_length=255)
    new_address = models.CharField(_("new address"), max_length=255, blank=True, default="")
    initiated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["elder"], condition=models.Q(status="pending"), name="one_pending_transfer_per_elder"),
        ]


class ImportKind(models.TextChoices):
    ELDERS = "elders", _("Elders (registration)")
    DEATHS = "deaths", _("Deaths (health commission)")
    HUKOU_MOVES = "hukou_moves", _("Hukou moves (public security)")
    ALLOWANCE = "allowance", _("低保 / 特困 status (civil affairs)")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(TimeStampedModel):
    """One uploaded file and what became of its rows. Bad rows go to a downloadable error file (row, column, reason)."""

    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices, default=ImportKind.ELDERS)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    proposed_count = models.PositiveIntegerField(_("proposed changes"), default=0)
    error_count = models.PositiveIntegerField(_("bad rows"), default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{row, column, reason}]; never the cell values")
    message = models.CharField(max_length=255, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else (100 if self.status == ImportStatus.DONE else 0)


class ReconciliationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Rejected")


class ReconciliationItem(TimeStampedModel):
    """A change another department's file proposes for one elder. Nothing changes until an officer confirms it."""

    job = models.ForeignKey(ImportJob, on_delete=models.PROTECT, related_name="items")
    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="reconciliation_items")
    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    row = models.PositiveIntegerField()
    proposal = models.JSONField(help_text="what would change, e.g. {'status': 'deceased', 'date': '2026-10-01'}")
    status = models.CharField(max_length=16, choices=ReconciliationStatus.choices, default=ReconciliationStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status"], condition=models.Q(status="pending"), name="reconciliation_pending")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.elder_id}"
