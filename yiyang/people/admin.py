"""Read-only admin views of the registry. ID numbers and phones appear masked only; writes go through the pages and API."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from yiyang.people.models import Elder, ElderTransfer, ImportJob


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Files are archived, never deleted (PIPL retention and history).
        return False


@admin.register(Elder)
class ElderAdmin(ReadOnlyAdmin):
    list_display = ["name", "gender", "birth_date", "masked_id", "residence_region", "status"]
    list_filter = ["status", "living_arrangement", "gender"]
    search_fields = ["name"]
    list_select_related = ["residence_region"]
    exclude = ["id_number_enc", "id_number_bidx", "phone_enc", "phone_bidx"]
    readonly_fields = ["masked_id", "masked_phone"]

    @admin.display(description=_("ID number"))
    def masked_id(self, obj: Elder) -> str:
        return obj.id_number_masked

    @admin.display(description=_("Phone"))
    def masked_phone(self, obj: Elder) -> str:
        return obj.phone_masked


@admin.register(ElderTransfer)
class ElderTransferAdmin(ReadOnlyAdmin):
    list_display = ["elder", "from_region", "to_region", "status", "created_at"]
    list_filter = ["status"]


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "kind", "status", "total_rows", "created_count", "error_count", "created_by", "created_at"]
    list_filter = ["kind", "status"]
    exclude = ["file"]
